package main

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

// partnerEndpoint is a partner cloud's side of notifications: its token
// endpoint (client credentials) and its callback, over TLS.
type partnerEndpoint struct {
	srv    *httptest.Server
	caFile string
	mu     sync.Mutex
	got    []map[string]any // envelopes received
	authz  []string
}

func newPartnerEndpoint(t *testing.T) *partnerEndpoint {
	p := &partnerEndpoint{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != "hub" || secret != "s3cret-for-push" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"push-token","token_type":"Bearer","expires_in":3600}`))
	})
	mux.HandleFunc("POST /cic/notify", func(w http.ResponseWriter, r *http.Request) {
		var env map[string]any
		if json.NewDecoder(r.Body).Decode(&env) != nil {
			w.WriteHeader(400)
			return
		}
		p.mu.Lock()
		p.got = append(p.got, env)
		p.authz = append(p.authz, r.Header.Get("Authorization"))
		p.mu.Unlock()
		w.WriteHeader(204)
	})
	p.srv = httptest.NewTLSServer(mux)
	t.Cleanup(p.srv.Close)
	p.caFile = filepath.Join(t.TempDir(), "partner-ca.pem")
	os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}), 0o600)
	return p
}

func (p *partnerEndpoint) names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.got {
		out = append(out, e["header"].(map[string]any)["name"].(string))
	}
	return out
}

func TestNotificationsEndToEnd(t *testing.T) {
	t.Parallel()
	pe := newPartnerEndpoint(t)
	w := newCICWorld(t, "\n[notify]\nca_file = \""+pe.caFile+"\"\n")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control subscriptions",
		[]string{e2eLampID, sensorID}, "--config", "hubagent.toml",
		"--callback-host", "127.0.0.1", "--allow-private-callback",
		"--notify-token-url", pe.srv.URL+"/token", "--notify-client-id", "hub", "--notify-client-secret", "s3cret-for-push")
	ans := a.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": pe.srv.URL + "/cic/notify",
		"events": []string{"StatusChanged", "OnlineChanged", "DevicesChanged"}, "deviceIds": []string{}})
	if ans.status != 200 {
		t.Fatalf("Subscribe: %d %s", ans.status, ans.raw)
	}
	sub := ans.payload["subscriptionId"].(string)

	// A device change on the MQTT side arrives as StatusChanged, numbered
	// in the subscription's sequence.
	w.app.publish(t, "zigbee2mqtt/Sensor", `{"temperature":19.75}`)
	var found map[string]any
	testutil.Eventually(t, 10*time.Second, "the sensor's StatusChanged at the partner", func() bool {
		pe.mu.Lock()
		defer pe.mu.Unlock()
		for _, env := range pe.got {
			pl := env["payload"].(map[string]any)
			if env["header"].(map[string]any)["name"] != "StatusChanged" || pl["subscriptionId"] != sub {
				continue
			}
			for _, e := range pl["events"].([]any) {
				ev := e.(map[string]any)
				if ev["deviceId"] == sensorID && ev["state"].(map[string]any)["currentTemperature"] == 19.75 {
					found = ev
				}
			}
		}
		return found != nil
	})
	if seq, ok := found["sequence"].(float64); !ok || seq < 1 {
		t.Errorf("event without a sequence: %v", found)
	}
	pe.mu.Lock()
	auth := pe.authz[0]
	pe.mu.Unlock()
	if auth != "Bearer push-token" {
		t.Errorf("push Authorization = %q", auth)
	}
	// Changes of devices not shared with the partner are not pushed.
	w.app.publish(t, "zigbee2mqtt/Hidden", `{"state":"ON"}`)

	// Removing the partner tells it AccountUnlinked.
	lastToken := a.token()
	if _, errOut, code := hubagent(t, w.dir, "partner", "remove", a.clientID, "--config", "hubagent.toml"); code != 0 {
		t.Fatalf("partner remove: %s", errOut)
	}
	testutil.Eventually(t, 10*time.Second, "AccountUnlinked", func() bool {
		n := pe.names()
		return len(n) > 0 && n[len(n)-1] == "AccountUnlinked"
	})
	pe.mu.Lock()
	for _, env := range pe.got {
		if b, _ := json.Marshal(env); strings.Contains(string(b), hiddenID) {
			t.Errorf("a change of an unshared device was pushed: %s", b)
		}
	}
	pe.mu.Unlock()
	if ans := a.callAs(lastToken, "CIC.Discovery", "Discover", "after-removal", map[string]any{}); ans.code() != "INVALID_ACCESS_TOKEN" {
		t.Errorf("removed partner still served: %s", ans.raw)
	}
}
