package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// TestAgentBrowsesAdvertisesAndFollowsMQTTBrokerOverMDNS runs the agent on
// a test link with a private Avahi: Avahi sees the agent's _hubagent._tcp
// while it runs and the goodbye when it stops; the agent lists Avahi's
// services at GET /v1/discovered/mdns and, with mqtt.broker = "auto",
// switches to the _mqtt._tcp broker Avahi announces.
func TestAgentBrowsesAdvertisesAndFollowsMQTTBrokerOverMDNS(t *testing.T) {
	t.Parallel()
	n := mdnstest.New(t)
	av := n.StartAvahi("")
	broker := "Attic broker " + n.Name // unique: nothing else on the host announces it
	av.Publish("-s", broker, "_mqtt._tcp", "1883")

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := fmt.Sprintf("data_dir = %q\n\n[mqtt]\nbroker = \"auto\"\n\n[mdns]\ninterfaces = [%q]\n", data, n.HostIf)
	if err := os.WriteFile(filepath.Join(dir, "hubagent.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &agent{api: freePort(t), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(binPath, "run", "--config", filepath.Join(dir, "hubagent.toml"),
		"--api-listen", "0.0.0.0:"+strings.Split(a.api, ":")[1], "--mqtt-listen", freePort(t))
	logs := &testutil.SyncBuffer{}
	a.cmd.Dir, a.cmd.Env, a.cmd.Stderr = dir, cleanEnv(), logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() { a.cmd.Process.Kill(); <-a.done })
	hubID, _ := a.healthz(t, 10*time.Second)["hubId"].(string)
	if hubID == "" {
		t.Fatal("no hub id in /healthz")
	}
	// Only our agent's line counts: another hubagent on this host (a
	// developer's, another test's) may announce on this link too.
	ours := func() []string {
		var out []string
		for _, l := range av.Browse("_hubagent._tcp") {
			if strings.Contains(l, `"id=`+hubID+`"`) {
				out = append(out, l)
			}
		}
		return out
	}
	var line string
	testutil.Eventually(t, 20*time.Second, "avahi to resolve the agent", func() bool {
		if lines := ours(); len(lines) > 0 {
			line = lines[0]
		}
		return line != ""
	})
	port := strings.Split(a.api, ":")[1]
	if !strings.Contains(line, ";"+n.HostIP()+";"+port+";") || !strings.Contains(line, `"api=/cic/v1"`) {
		t.Errorf("avahi-browse: %q", line)
	}

	cl, err := localapi.Dial(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the broker in /v1/discovered/mdns", func() bool {
		var list []mdns.Instance
		if err := cl.Get(context.Background(), localapi.PathDiscoveredMDNS, &list); err != nil {
			t.Fatal(err)
		}
		for _, in := range list {
			if in.Name == broker && in.Service == "_mqtt._tcp" && in.Port == 1883 {
				return true
			}
		}
		return false
	})
	// The installer's view: `hubagent discovered` lists the announced broker.
	out, errOut, code := hubagent(t, dir, "discovered", "--data", data)
	if code != 0 || !strings.Contains(out, broker) || !strings.Contains(out, "_mqtt._tcp") ||
		!strings.Contains(out, "mDNS interfaces (mdns.interfaces): "+n.HostIf+" ("+n.HostIP()+")") {
		t.Errorf("discovered: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = hubagent(t, dir, "discovered", "--json", "--data", data)
	var js struct {
		MDNS           []mdns.Instance   `json:"mdns"`
		MDNSInterfaces *mdns.StackStatus `json:"mdnsInterfaces"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("discovered --json: %v: %s", err, out)
	}
	if st := js.MDNSInterfaces; st == nil || len(st.Interfaces) != 1 || st.Interfaces[0].Name != n.HostIf || !st.Configured {
		t.Errorf("discovered --json: mdnsInterfaces = %+v", st)
	}
	if !slices.ContainsFunc(js.MDNS, func(in mdns.Instance) bool { return in.Name == broker }) {
		t.Errorf("discovered --json lacks the broker: %s", out)
	}
	testutil.Eventually(t, 10*time.Second, "the switch to the announced broker", func() bool {
		return strings.Contains(logs.String(), "tcp://"+n.PeerIP(2)+":1883")
	})

	if code := a.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}
	testutil.Eventually(t, 10*time.Second, "avahi to see the goodbye", func() bool { return len(ours()) == 0 })
}
