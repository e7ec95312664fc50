package notify

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// Hostile input against the subscription interface and delivery: each
// limit of docs/limits.md ("Partner side") driven past its bound. The real
// binary is driven the same way in cmd/hubagent's
// hostile_partner_test.go.

// callbacks is a partner's notification endpoint with several paths, each
// recording what it receives; a path marked down answers 503.
type callbacks struct {
	srv    *httptest.Server
	caFile string

	mu   sync.Mutex
	got  map[string][]map[string]any // payloads by path
	down map[string]bool
	hits map[string]int // POSTs by path, failed ones included
}

func newCallbacks(t *testing.T) *callbacks {
	t.Helper()
	c := &callbacks{got: map[string][]map[string]any{}, down: map[string]bool{}, hits: map[string]int{}}
	c.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct{ Payload map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			w.WriteHeader(400)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.hits[r.URL.Path]++
		if c.down[r.URL.Path] {
			w.WriteHeader(503)
			return
		}
		c.got[r.URL.Path] = append(c.got[r.URL.Path], env.Payload)
		w.WriteHeader(204)
	}))
	t.Cleanup(c.srv.Close)
	c.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(c.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *callbacks) setDown(path string, down bool) {
	c.mu.Lock()
	c.down[path] = down
	c.mu.Unlock()
}

// brightness lists the brightness values a path received, in order.
func (c *callbacks) brightness(path string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, p := range c.got[path] {
		evs, _ := p["events"].([]any)
		for _, e := range evs {
			st, _ := e.(map[string]any)["state"].(map[string]any)
			if b, ok := st["brightness"].(float64); ok {
				out = append(out, int(b))
			}
		}
	}
	return out
}

func (c *callbacks) total() (posts, paths int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.hits {
		posts += n
	}
	return posts, len(c.hits)
}

func hmacPartner() Partner {
	return Partner{ClientID: "A", Name: "Acme", CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true, HMACSecret: "k"}
}

func grantCaller(g int) cic.Caller {
	return cic.Caller{ClientID: "A", UserID: fmt.Sprintf("u%d", g), GrantID: fmt.Sprintf("g%d", g), Scopes: []string{"subscriptions"}}
}

func trySubscribe(e *env, c cic.Caller, req SubscribeRequest) (SubscribeResponse, error) {
	raw, _ := json.Marshal(req)
	out, err := e.n.subscribe(context.Background(), c, raw)
	if err != nil {
		return SubscribeResponse{}, err
	}
	return out.(SubscribeResponse), nil
}

func TestThousandSubscribesHoldAtMost64AndOneChangeSendsAtMost64POSTs(t *testing.T) {
	cb := newCallbacks(t)
	e := newEnv(t, "", fixedPartners{"A": hmacPartner()}, cb.caFile, 0)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	ok, refused := 0, 0
	for i := range 1000 {
		// Ten households (grants) of one partner, each asking 100 times
		// with a different callback path.
		_, err := trySubscribe(e, grantCaller(i%10), SubscribeRequest{CallbackURL: cb.srv.URL + fmt.Sprintf("/cb/%d", i),
			Events: []string{EventStatusChanged}})
		switch {
		case err == nil:
			ok++
		case device.CodeOf(err) == device.CodeInvalidRequest:
			refused++
		default:
			t.Fatalf("Subscribe %d: %v", i, err)
		}
	}
	var live, perGrantMax int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT count(*) FROM subscriptions"), &live)
	e.st.DB().QueryRow("SELECT max(n) FROM (SELECT count(*) AS n FROM subscriptions GROUP BY grant_id)").Scan(&perGrantMax)
	if ok != DefaultMaxSubscriptionsPerPartner || live != ok || refused != 1000-ok {
		t.Fatalf("%d accepted, %d refused, %d stored; want %d accepted", ok, refused, live, DefaultMaxSubscriptionsPerPartner)
	}
	if perGrantMax > DefaultMaxSubscriptionsPerGrant {
		t.Fatalf("one grant holds %d subscriptions, cap %d", perGrantMax, DefaultMaxSubscriptionsPerGrant)
	}
	e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(7)}, time.Now())
	e.hub.Flush(ctx)
	testutil.Eventually(t, 10*time.Second, "every subscription's POST", func() bool { p, _ := cb.total(); return p >= live })
	time.Sleep(200 * time.Millisecond) // any extra POST would be on its way by now
	if posts, _ := cb.total(); posts != live {
		t.Fatalf("one change caused %d POSTs for %d subscriptions", posts, live)
	}
}

func TestIdenticalSubscriptionsAreOne(t *testing.T) {
	cb := newCallbacks(t)
	e := newEnv(t, "", fixedPartners{"A": hmacPartner()}, cb.caFile, 0)
	req := SubscribeRequest{CallbackURL: cb.srv.URL + "/cb", Events: []string{EventStatusChanged, EventOnlineChanged},
		DeviceIDs: []string{"b", "a"}}
	first, err := trySubscribe(e, grantCaller(1), req)
	if err != nil {
		t.Fatal(err)
	}
	// The same subscription asked again, events and devices in another
	// order, repeated: the same one comes back.
	req.Events = []string{EventOnlineChanged, EventStatusChanged, EventOnlineChanged}
	req.DeviceIDs = []string{"a", "b", "a"}
	for range 50 {
		again, err := trySubscribe(e, grantCaller(1), req)
		if err != nil || again.SubscriptionID != first.SubscriptionID {
			t.Fatalf("identical Subscribe gave %+v, %v; want %s", again, err, first.SubscriptionID)
		}
	}
	// Another household's identical request is its own subscription.
	other, err := trySubscribe(e, grantCaller(2), req)
	if err != nil || other.SubscriptionID == first.SubscriptionID {
		t.Fatalf("other grant: %+v %v", other, err)
	}
	var n int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT count(*) FROM subscriptions"), &n)
	if n != 2 {
		t.Fatalf("%d subscriptions stored, want 2", n)
	}
}

func TestSubscribeRefusesOversizeFields(t *testing.T) {
	cb := newCallbacks(t)
	e := newEnv(t, "", fixedPartners{"A": hmacPartner()}, cb.caFile, 0)
	nine := make([]string, maxEventNames+1)
	for i := range nine {
		nine[i] = EventStatusChanged
	}
	ids := make([]string, MaxSubscriptionDeviceIDs+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("d%d", i)
	}
	for name, req := range map[string]SubscribeRequest{
		"too many device ids":  {CallbackURL: cb.srv.URL + "/cb", Events: []string{EventStatusChanged}, DeviceIDs: ids},
		"over-long device id":  {CallbackURL: cb.srv.URL + "/cb", Events: []string{EventStatusChanged}, DeviceIDs: []string{strings.Repeat("d", cic.MaxIDLen+1)}},
		"over-long callback":   {CallbackURL: cb.srv.URL + "/" + strings.Repeat("c", MaxCallbackURLLen), Events: []string{EventStatusChanged}},
		"too many event names": {CallbackURL: cb.srv.URL + "/cb", Events: nine},
	} {
		if _, err := trySubscribe(e, grantCaller(1), req); device.CodeOf(err) != device.CodeInvalidRequest {
			t.Errorf("%s: %v, want INVALID_REQUEST", name, err)
		}
	}
	var n int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT count(*) FROM subscriptions"), &n)
	if n != 0 {
		t.Fatalf("%d subscriptions stored from refused requests", n)
	}
}

func TestHealthySubscriptionKeepsReceivingWhileSiblingCallbackIsDown(t *testing.T) {
	cb := newCallbacks(t)
	e := newEnv(t, "", fixedPartners{"A": hmacPartner()}, cb.caFile, 0, func(o *Options) {
		o.MinBackoff, o.MaxBackoff = 200*time.Millisecond, 2*time.Second
	})
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	cb.setDown("/down", true)
	// Subscriptions are served in turns whatever their (random) ids'
	// order, so it does not matter which one sorts first.
	e.subscribe(t, callerA, cb.srv.URL+"/down", EventStatusChanged)
	e.subscribe(t, callerA, cb.srv.URL+"/ok", EventStatusChanged)
	for i := 1; i <= 20; i++ {
		e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i))}, time.Now())
		e.hub.Flush(ctx)
		// Each change reaches the healthy callback promptly, although its
		// sibling has been failing all along.
		testutil.Eventually(t, 2*time.Second, fmt.Sprintf("change %d at the healthy callback", i), func() bool {
			b := cb.brightness("/ok")
			return len(b) > 0 && b[len(b)-1] == i
		})
	}
	if got := cb.brightness("/ok"); len(got) != 20 {
		t.Fatalf("healthy callback got %v", got)
	}
	// The failing one was retried on its own backoff, not per event.
	cb.mu.Lock()
	tries := cb.hits["/down"]
	cb.mu.Unlock()
	if tries == 0 || tries > 15 {
		t.Fatalf("failing callback tried %d times over 20 events", tries)
	}
	// Back up, it gets everything, in order.
	cb.setDown("/down", false)
	testutil.Eventually(t, 10*time.Second, "the recovered callback's backlog", func() bool { return len(cb.brightness("/down")) == 20 })
	for i, b := range cb.brightness("/down") {
		if b != i+1 {
			t.Fatalf("recovered callback got %v", cb.brightness("/down"))
		}
	}
}

func TestOutboxPerPartnerIsBoundedOldestDroppedAndCounted(t *testing.T) {
	cb := newCallbacks(t)
	const bound = 100
	e := newEnv(t, "", fixedPartners{"A": hmacPartner()}, cb.caFile, 0, func(o *Options) {
		o.MaxPendingPerPartner = bound
		o.MinBackoff, o.MaxBackoff = time.Hour, time.Hour // one try, then quiet
	})
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	cb.setDown("/cb", true)
	e.subscribe(t, callerA, cb.srv.URL+"/cb", EventStatusChanged)
	const n = 400
	for i := 1; i <= n; i++ {
		e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i % 101))}, time.Now())
		e.hub.Flush(ctx)
	}
	if b := e.n.Backlog(ctx); b > bound {
		t.Fatalf("outbox holds %d events, bound %d", b, bound)
	}
	var dropped, maxSeq, kept int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT dropped FROM partner_delivery WHERE client_id = 'A'"), &dropped)
	// Every report changed the value: one event each, numbered 1..n.
	testutil.Scan(t, e.st.DB().QueryRow("SELECT max(seq), count(*) FROM outbox"), &maxSeq, &kept)
	if dropped < n-bound || e.n.Stats().Dropped != uint64(dropped) {
		t.Fatalf("%d events, %d kept, dropped counted %d (stats %d)", n, e.n.Backlog(ctx), dropped, e.n.Stats().Dropped)
	}
	if maxSeq != n || kept != e.n.Backlog(ctx) {
		t.Fatalf("newest kept event is %d, newest made %d (durable %d, memory %d): the newest must be kept, durably",
			maxSeq, n, kept, e.n.Backlog(ctx))
	}
}
