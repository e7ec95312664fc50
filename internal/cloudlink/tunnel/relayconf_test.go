package tunnel_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel/tunneltest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// TestRelayDropInConfinesHubUser checks packaging/relay's sshd drop-in the
// way an operator would: sshd -t accepts it, and the settings sshd computes
// for the hub user allow remote forwarding and nothing else. (The
// integration tests run sshd with the same drop-in.)
func TestRelayDropInConfinesHubUser(t *testing.T) {
	sshd := testutil.LookTool(t, "sshd")
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755)
	}
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "host")
	if out, err := exec.Command(testutil.LookTool(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte("HostKey "+hostKey+"\nPidFile none\nUsePAM no\nInclude "+tunneltest.DropIn(t)+"\n"), 0o600)
	if out, err := exec.Command(sshd, "-t", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t rejects the drop-in: %v\n%s", err, out)
	}
	out, err := exec.Command(sshd, "-T", "-f", cfg, "-C", "user=hubagent,host=hub.example,addr=192.0.2.1").CombinedOutput()
	if err != nil {
		t.Fatalf("sshd -T: %v\n%s", err, out)
	}
	want := []string{
		"allowtcpforwarding remote", "permittty no", "x11forwarding no", "allowagentforwarding no",
		"allowstreamlocalforwarding no", "permittunnel no", "gatewayports no", "permitopen none",
		"maxsessions 0", "forcecommand /usr/sbin/nologin", "passwordauthentication no",
		"authorizedkeysfile /etc/hubagent-relay/authorized_keys", "clientaliveinterval 15",
	}
	got := strings.Split(string(out), "\n")
	for _, w := range want {
		found := false
		for _, line := range got {
			if strings.TrimSpace(line) == w {
				found = true
			}
		}
		if !found {
			t.Errorf("effective config for the hub user lacks %q", w)
		}
	}
	// Other users keep the machine's defaults.
	out, _ = exec.Command(sshd, "-T", "-f", cfg, "-C", "user=admin,host=h,addr=192.0.2.1").CombinedOutput()
	if strings.Contains(string(out), "forcecommand /usr/sbin/nologin") {
		t.Error("the drop-in's Match block leaks to other users")
	}
}

// TestAddHubScriptKeepsOneLinePerHubAndPort runs packaging/relay/add-hub.sh
// on temporary files the way the relay operator does.
func TestAddHubScriptKeepsOneLinePerHubAndPort(t *testing.T) {
	bash := testutil.LookTool(t, "bash")
	script := filepath.Join(filepath.Dir(tunneltest.DropIn(t)), "..", "add-hub.sh")
	dir := t.TempDir()
	keys, hubsMap := filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "hubs.map")
	line := func(port, hub string) string {
		return tunnel.AuthorizedKeysLine(hubKey(t).PublicKey(), "127.0.0.1:"+port, hub)
	}
	run := func(line string) (string, error) {
		cmd := exec.Command(bash, script, "relay.example")
		cmd.Env = append(os.Environ(), "HUBAGENT_RELAY_KEYS="+keys, "HUBAGENT_RELAY_MAP="+hubsMap, "HUBAGENT_RELAY_RELOAD=true")
		cmd.Stdin = strings.NewReader(line + "\n")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	const hubA, hubB = "0123456789abcdef", "fedcba9876543210"
	steps := []struct {
		name    string
		line    string
		wantErr string
	}{
		{"first hub", line("20001", hubA), ""},
		{"second hub", line("20002", hubB), ""},
		{"first hub with a new key", line("20001", hubA), ""},
		{"second hub on the first hub's port", line("20001", hubB), "already assigned"},
		{"not a pubkey line", "ssh-ed25519 AAAA hubagent-" + hubA, "not a line"},
	}
	for _, s := range steps {
		out, err := run(s.line)
		if s.wantErr == "" && err != nil || s.wantErr != "" && (err == nil || !strings.Contains(out, s.wantErr)) {
			t.Fatalf("%s: err %v, output %q", s.name, err, out)
		}
	}
	k, _ := os.ReadFile(keys)
	m, _ := os.ReadFile(hubsMap)
	if n := strings.Count(string(k), "\n"); n != 2 || strings.Count(string(k), "hubagent-"+hubA) != 1 {
		t.Errorf("authorized_keys:\n%s", k)
	}
	wantMap := "hub-" + hubB + ".relay.example 127.0.0.1:20002;\nhub-" + hubA + ".relay.example 127.0.0.1:20001;\n"
	if string(m) != wantMap {
		t.Errorf("hubs.map:\n%s\nwant:\n%s", m, wantMap)
	}
}
