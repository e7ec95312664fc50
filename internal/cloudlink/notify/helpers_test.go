package notify

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// partnerServer is a partner cloud for the tests: an HTTPS callback that
// records what it receives, and its own client-credentials token endpoint.
type partnerServer struct {
	srv    *httptest.Server
	caFile string

	mu       sync.Mutex
	received []received
	fail     int // answer 503 while > 0 (decremented per POST)
	down     bool
	tokens   int // tokens issued
	validTok string
	hmacSeen []string
	redirect string // where POST /redirect sends the hub
}

type received struct {
	Name    string
	Payload map[string]any
	Auth    string
	At      time.Time
}

func newPartner(t testing.TB) *partnerServer {
	t.Helper()
	p := &partnerServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "hub" || secret != "s3cret" || r.FormValue("grant_type") != "client_credentials" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		p.mu.Lock()
		p.tokens++
		p.validTok = "tok-" + string(rune('a'+p.tokens))
		tok := p.validTok
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("POST /redirect", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		to := p.redirect
		p.mu.Unlock()
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("POST /notify", func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Header  cic.Header     `json:"header"`
			Payload map[string]any `json:"payload"`
		}
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			w.WriteHeader(400)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.down || p.fail > 0 {
			if p.fail > 0 {
				p.fail--
			}
			w.WriteHeader(503)
			return
		}
		auth := r.Header.Get("Authorization")
		if p.validTok != "" && auth != "Bearer "+p.validTok {
			w.WriteHeader(401)
			return
		}
		p.hmacSeen = append(p.hmacSeen, r.Header.Get("X-CIC-Signature"))
		p.received = append(p.received, received{Name: env.Header.Name, Payload: env.Payload, Auth: auth, At: time.Now()})
		w.WriteHeader(204)
	})
	p.srv = httptest.NewUnstartedServer(mux)
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	p.caFile = filepath.Join(t.TempDir(), "partner-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	if err := os.WriteFile(p.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// setDown makes the callback answer 503 (true) or work again (false).
func (p *partnerServer) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

func (p *partnerServer) url(path string) string {
	// httptest's certificate is valid for 127.0.0.1 and "example.com";
	// callbacks use the IP.
	return p.srv.URL + path
}

func (p *partnerServer) got() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.received...)
}

// fixedPartners serves partner records from a map.
type fixedPartners map[string]Partner

func (f fixedPartners) Partner(_ context.Context, id string) (Partner, error) {
	p, ok := f[id]
	if !ok {
		return Partner{}, &device.Error{Code: device.CodeAccessDenied, Message: "unknown partner"}
	}
	return p, nil
}

// allExposed exposes every device except those listed as hidden.
type allExposed struct{ hidden map[string]bool }

func (a allExposed) Exposure(context.Context, cic.Caller) (func(*device.Device) bool, error) {
	return func(d *device.Device) bool { return !a.hidden[d.ID] }, nil
}

type env struct {
	st   *store.Store
	hub  *hub.Hub
	n    *Notifier
	stop func() // a graceful stop, as the agent's; idempotent
}

func newEnv(t testing.TB, dbPath string, partners Partners, caFile string, window time.Duration, mods ...func(*Options)) *env {
	t.Helper()
	return newEnvWriter(t, dbPath, partners, caFile, store.WriterOptions{Window: window}, mods...)
}

func newEnvWriter(t testing.TB, dbPath string, partners Partners, caFile string, wo store.WriterOptions, mods ...func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), store.FileName)
	}
	st, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(ctx, hub.Options{Store: st, Writer: wo})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{DB: st.DB(), Hub: h, Partners: partners, Exposure: allExposed{}, CAFile: caFile,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	for _, m := range mods {
		m(&o)
	}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Run(rctx); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			h.Close()
			st.Close()
		})
	}
	t.Cleanup(stop)
	<-n.Ready() // Run installs its hooks asynchronously
	return &env{st: st, hub: h, n: n, stop: stop}
}

func lamp(id string) *device.Device {
	return &device.Device{ID: id, Name: id, Category: device.CategoryLight, Online: true, Source: "test",
		Properties: []device.Property{
			{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite},
			{Name: "brightness", Type: device.TypeInt, Min: device.Num(0), Max: device.Num(100), Access: device.AccessReadWrite},
		}}
}

func (e *env) subscribe(t testing.TB, c cic.Caller, callback string, events ...string) string {
	t.Helper()
	raw, _ := json.Marshal(SubscribeRequest{CallbackURL: callback, Events: events})
	out, err := e.n.subscribe(context.Background(), c, raw)
	if err != nil {
		t.Fatal(err)
	}
	return out.(SubscribeResponse).SubscriptionID
}

// numbered is how many events the notifier numbered, over all
// subscriptions of this run.
func (e *env) numbered() int {
	e.n.seqMu.Lock()
	defer e.n.seqMu.Unlock()
	k := 0
	for _, st := range e.n.seqs {
		k += int(st.next - 1)
	}
	return k
}
