package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

// A partner removed while no agent runs is told AccountUnlinked, with the
// same reason as one removed through the running agent, when the agent
// starts again: the offline command goes through the same domain function
// as the agent's revocation hook.
func TestPartnerRemovedWhileStoppedIsToldAtNextStart(t *testing.T) {
	pe := newPartnerEndpoint(t)
	w := newCICWorld(t, "\n[notify]\nca_file = \""+pe.caFile+"\"\n")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read subscriptions", []string{e2eLampID},
		"--config", "hubagent.toml", "--callback-host", "127.0.0.1", "--allow-private-callback",
		"--notify-token-url", pe.srv.URL+"/token", "--notify-client-id", "hub", "--notify-client-secret", "s3cret-for-push")
	ans := a.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": pe.srv.URL + "/cic/notify",
		"events": []string{"StatusChanged"}, "deviceIds": []string{}})
	if ans.status != 200 {
		t.Fatalf("Subscribe: %d %s", ans.status, ans.raw)
	}
	sub := ans.payload["subscriptionId"].(string)
	if code := w.ag.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("agent exit %d", code)
	}

	out, errOut, code := hubagent(t, w.dir, "partner", "remove", a.clientID, "--config", "hubagent.toml")
	if code != 0 || !strings.Contains(out, "1 links revoked") {
		t.Fatalf("offline partner remove: %d %q %q", code, out, errOut)
	}
	ag := startAgent(t, w.dir, "--config", "hubagent.toml")
	ag.healthz(t, 10*time.Second)
	var unlinked map[string]any
	testutil.Eventually(t, 10*time.Second, "AccountUnlinked after the restart", func() bool {
		pe.mu.Lock()
		defer pe.mu.Unlock()
		for _, env := range pe.got {
			if env["header"].(map[string]any)["name"] == "AccountUnlinked" {
				unlinked = env["payload"].(map[string]any)
			}
		}
		return unlinked != nil
	})
	if unlinked["subscriptionId"] != sub || unlinked["reason"] != "partner removed" {
		t.Errorf("AccountUnlinked payload %v", unlinked)
	}
	ag.stop(t, 10*time.Second)
}
