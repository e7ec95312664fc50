package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/relay"
	"github.com/hubagent/hubagent/internal/testutil"
)

// enrollHub starts an agent in a fresh dir and enrolls it at url.
func enrollHub(t *testing.T, url, token, caFile string) (dir string, st tunnel.Status) {
	t.Helper()
	dir = t.TempDir()
	a := startAgent(t, dir)
	a.healthz(t, 15*time.Second)
	out, errOut, code := hubagent(t, dir, "tunnel", "enroll", url, "--token", token, "--ca-file", caFile)
	if code != 0 || !strings.Contains(out, "tunnel: connected") {
		t.Fatalf("enroll at %s: exit %d: %s%s\nagent: %s", url, code, out, errOut, a.stderr)
	}
	return dir, hubStatus(t, dir)
}

// TestRelayFleetSharesOnePostgreSQLRegistry runs two relays (each its own
// sshd, nginx and serve) on one real PostgreSQL registry: a hub enrolled
// at either relay's service is assigned a relay and reachable through
// that one, and the registry outlives a relay's restart.
func TestRelayFleetSharesOnePostgreSQLRegistry(t *testing.T) {
	t.Parallel()
	pg := testutil.StartPostgres(t)
	tlsFiles := testutil.NewTLS(t, "r1.relay.test", "*.r1.relay.test", "r2.relay.test", "*.r2.relay.test", "127.0.0.1")
	r1 := startRelay(t, "r1", pg.DSN(), tlsFiles)
	r2 := startRelay(t, "r2", pg.DSN(), tlsFiles)
	toks := r1.tokens(t, 3, "1h")

	// Both enroll at r1's service; the fleet spreads them: the first stays
	// on r1 (equal load, the answering relay first), the second goes to r2.
	dirA, stA := enrollHub(t, r1.enrollURL(), toks[0], tlsFiles.CAFile)
	dirB, stB := enrollHub(t, r1.enrollURL(), toks[1], tlsFiles.CAFile)
	if stA.Relay != r1.sshd.Addr || !strings.HasSuffix(stA.PublicURL, ".r1.relay.test") {
		t.Fatalf("hub A: %+v, want relay r1", stA)
	}
	if stB.Relay != r2.sshd.Addr || !strings.HasSuffix(stB.PublicURL, ".r2.relay.test") {
		t.Fatalf("hub B: %+v, want relay r2", stB)
	}
	// Each is reachable through the relay it was assigned, and only there.
	testutil.Eventually(t, 10*time.Second, "hub A through r1", func() bool { return r1.steady(t, stA.PublicURL+"/healthz", 200) })
	testutil.Eventually(t, 10*time.Second, "hub B through r2", func() bool { return r2.steady(t, stB.PublicURL+"/healthz", 200) })
	if code := r1.get(t, stB.PublicURL+"/healthz"); code == 200 {
		t.Fatal("hub B answered through r1, which it is not assigned to")
	}

	// r1's serve restarts: the registry keeps every hub, tokens and
	// enrollment go on through it, and hubs stay reachable.
	r1.stopServe(t)
	r1.startServe(t)
	out, errOut, code := r1.cli(t, "relay", "hubs", "--json")
	var hubs []relay.Hub
	if code != 0 || json.Unmarshal([]byte(out), &hubs) != nil || len(hubs) != 2 {
		t.Fatalf("relay hubs after restart: exit %d: %s%s", code, out, errOut)
	}
	states := map[string]string{}
	for _, h := range hubs {
		states[h.Relay] = h.State
	}
	if states["r1"] != "connected" || states["r2"] != "on relay r2" {
		t.Fatalf("states seen from r1: %v", states)
	}
	_, stC := enrollHub(t, r1.enrollURL(), toks[2], tlsFiles.CAFile)
	testutil.Eventually(t, 10*time.Second, "hub C after the restart", func() bool {
		rel := r1
		if strings.HasSuffix(stC.PublicURL, ".r2.relay.test") {
			rel = r2
		}
		return rel.steady(t, stC.PublicURL+"/healthz", 200)
	})
	if !r1.steady(t, stA.PublicURL+"/healthz", 200) || !r2.steady(t, stB.PublicURL+"/healthz", 200) {
		t.Fatal("hubs A and B not reachable after r1's restart")
	}

	// Removing B at r1 drops it on r2 (r2's serve sees the registry move).
	if _, errOut, code := r1.cli(t, "relay", "remove", strings.TrimSuffix(strings.TrimPrefix(stB.PublicURL, "https://hub-"), ".r2.relay.test")); code != 0 {
		t.Fatalf("remove B at r1: %s", errOut)
	}
	testutil.Eventually(t, 10*time.Second, "hub B dropped by r2", func() bool {
		return r2.get(t, stB.PublicURL+"/healthz") == 404 && hubStatus(t, dirB).State != tunnel.StateConnected
	})
	if hubStatus(t, dirA).State != tunnel.StateConnected {
		t.Fatal("removing B disturbed A")
	}
}
