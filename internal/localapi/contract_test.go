package localapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// startAgentAPI serves the local API of a hub holding one lamp on a socket
// in a fresh data directory, with extra as Options.Extra, and dials it.
func startAgentAPI(t *testing.T, extra map[string]http.Handler) (*Client, *hub.Hub) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); st.Close() })
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- NewServer(Options{Hub: h, HubID: "hub-1", Version: "test", Extra: extra}).Serve(sctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		ln.Close()
	})
	cl, err := Dial(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	return cl, h
}

// Every typed Client method calls a route the server side registers from
// the same constant, with ids escaped as one path segment.
func TestTypedClientCallsTheRoutesServed(t *testing.T) {
	seen := map[string]string{} // pattern -> escaped path the server saw
	stub := func(pattern, body string) (string, http.Handler) {
		return pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen[pattern] = r.URL.EscapedPath()
			if id := r.PathValue("id"); id != "" {
				seen[pattern] += " id=" + id
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
		})
	}
	extra := map[string]http.Handler{}
	for _, s := range []struct{ method, path, body string }{
		{http.MethodGet, PathDiscoveredMQTT, `[{"topic":"homeassistant/switch/x/config","status":"accepted"}]`},
		{http.MethodGet, PathDiscoveredMDNS, `[{"instance":"wled-1"}]`},
		{http.MethodGet, PathMDNSInterfaces, `{"interfaces":[{"name":"eth0","addresses":["192.0.2.1"],"advertising":true}],"skipped":[],"configured":false,"advertised":"hub"}`},
		{http.MethodGet, PathTunnel, `{"state":"connected"}`},
		{http.MethodPost, PathTunnelReload, `{"state":"connecting"}`},
		{http.MethodPost, PathPartnerRemove, `{}`},
	} {
		p, h := stub(Pattern(s.method, s.path), s.body)
		extra[p] = h
	}
	cl, h := startAgentAPI(t, extra)
	ctx := context.Background()
	lamp := &device.Device{ID: "lamp 1", Name: "Lamp", Category: device.CategoryLight, Online: true, Source: "test",
		Properties: []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}}
	if err := h.UpsertDevice(ctx, lamp); err != nil {
		t.Fatal(err)
	}

	st, err := cl.Status(ctx)
	if err != nil || st.HubID != "hub-1" || st.Devices != 1 {
		t.Errorf("Status = %+v, %v", st, err)
	}
	ds, err := cl.Devices(ctx)
	if err != nil || len(ds) != 1 || ds[0].ID != "lamp 1" {
		t.Errorf("Devices = %+v, %v", ds, err)
	}
	d, err := cl.Device(ctx, "lamp 1")
	if err != nil || d.ID != "lamp 1" || d.Name != "Lamp" {
		t.Errorf("Device = %+v, %v", d, err)
	}
	var de *device.Error
	if _, err := cl.Device(ctx, "../status"); !errors.As(err, &de) || de.Code != device.CodeDeviceNotFound {
		t.Errorf("Device of an unknown id (a path in disguise): %v", err)
	}
	mq, err := cl.DiscoveredMQTT(ctx)
	if err != nil || len(mq) != 1 || mq[0].Topic != "homeassistant/switch/x/config" {
		t.Errorf("DiscoveredMQTT = %+v, %v", mq, err)
	}
	md, err := cl.DiscoveredMDNS(ctx)
	if err != nil || len(md) != 1 || !strings.Contains(string(md[0]), "wled-1") {
		t.Errorf("DiscoveredMDNS = %s, %v", md, err)
	}
	ifs, err := cl.MDNSInterfaces(ctx)
	if err != nil || len(ifs.Interfaces) != 1 || !ifs.Interfaces[0].Advertising || ifs.Advertised != "hub" {
		t.Errorf("MDNSInterfaces = %+v, %v", ifs, err)
	}
	if tu, err := cl.Tunnel(ctx); err != nil || tu.State != "connected" {
		t.Errorf("Tunnel = %+v, %v", tu, err)
	}
	if tu, err := cl.ReloadTunnel(ctx); err != nil || tu.State != "connecting" {
		t.Errorf("ReloadTunnel = %+v, %v", tu, err)
	}
	if err := cl.RemovePartner(ctx, "client/1"); err != nil {
		t.Errorf("RemovePartner: %v", err)
	}
	want := map[string]string{
		Pattern(http.MethodGet, PathDiscoveredMQTT): "/v1/discovered/mqtt",
		Pattern(http.MethodGet, PathDiscoveredMDNS): "/v1/discovered/mdns",
		Pattern(http.MethodGet, PathMDNSInterfaces): "/v1/mdns/interfaces",
		Pattern(http.MethodGet, PathTunnel):         "/v1/tunnel",
		Pattern(http.MethodPost, PathTunnelReload):  "/v1/tunnel/reload",
		Pattern(http.MethodPost, PathPartnerRemove): "/v1/partners/client%2F1/remove id=client/1",
	}
	for p, w := range want {
		if seen[p] != w {
			t.Errorf("%s: served %q, want %q", p, seen[p], w)
		}
	}
}

// A route the agent does not serve (mDNS off) is a *StatusError 404.
func TestClientReportsAnUnservedRoute(t *testing.T) {
	cl, _ := startAgentAPI(t, nil)
	_, err := cl.DiscoveredMDNS(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound {
		t.Fatalf("DiscoveredMDNS without mDNS: %v", err)
	}
}

// WriteError answers a coded error with its code's status and message, and
// hides the text of any other error.
func TestWriteErrorMapsCodes(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
	}{
		{"not found", &device.Error{Code: device.CodeDeviceNotFound, Message: "device x not found"}, 404,
			`{"errorCode":"DEVICE_NOT_FOUND","message":"device x not found"}`},
		{"invalid request", fmt.Errorf("wrapped: %w", &device.Error{Code: device.CodeInvalidRequest, Message: "bad"}), 400,
			`{"errorCode":"INVALID_REQUEST","message":"wrapped: bad"}`},
		{"uncoded", errors.New("store: disk I/O error at /secret/path"), 500,
			`{"errorCode":"INTERNAL_ERROR","message":"internal error"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.wantStatus || strings.TrimSpace(rec.Body.String()) != tt.wantBody ||
				rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %s %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			}
		})
	}
}
