package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

func partnerA(p *partnerServer) Partner {
	return Partner{ClientID: "A", Name: "Acme", CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true,
		TokenURL: p.url("/token"), NotifyClientID: "hub", NotifyClientSecret: "s3cret"}
}

var callerA = cic.Caller{ClientID: "A", UserID: "u1", GrantID: "g1", Scopes: []string{"subscriptions"}}

func TestStatusChangedArrivesWithStateAndSequence(t *testing.T) {
	p := newPartner(t)
	e := newEnv(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, 0)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	sub := e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged, EventOnlineChanged)
	e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(42)}, time.Now())
	e.hub.Flush(ctx)
	e.hub.SetOnline("l1", false)
	testutil.Eventually(t, 5*time.Second, "two notifications", func() bool { return len(p.got()) >= 2 })
	got := p.got()
	if got[0].Name != "StatusChanged" || got[0].Payload["subscriptionId"] != sub {
		t.Fatalf("first = %+v", got[0])
	}
	ev := got[0].Payload["events"].([]any)[0].(map[string]any)
	if ev["deviceId"] != "l1" || ev["state"].(map[string]any)["brightness"] != float64(42) || ev["sequence"] != float64(1) {
		t.Fatalf("event = %v", ev)
	}
	if !strings.HasPrefix(got[0].Auth, "Bearer tok-") {
		t.Errorf("push not authenticated with the partner's token: %q", got[0].Auth)
	}
	ev = got[1].Payload["events"].([]any)[0].(map[string]any)
	if got[1].Name != "OnlineChanged" || ev["online"] != false || ev["sequence"] != float64(2) {
		t.Fatalf("second = %+v", got[1])
	}
}

func TestUnlinkArrivesAsAccountUnlinked(t *testing.T) {
	p := newPartner(t)
	e := newEnv(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, 0)
	ctx := context.Background()
	sub := e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	if err := e.n.GrantRevoked(ctx, "g1", "partner removed by the household"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "AccountUnlinked", func() bool { return len(p.got()) == 1 })
	got := p.got()[0]
	if got.Name != "AccountUnlinked" || got.Payload["subscriptionId"] != sub || got.Payload["userId"] != "u1" ||
		got.Payload["reason"] != "partner removed by the household" {
		t.Fatalf("got %+v", got)
	}
	// The subscription is over: further changes send nothing, and it is gone.
	testutil.Eventually(t, 2*time.Second, "subscription cleanup", func() bool {
		var n int
		testutil.Scan(t, e.st.DB().QueryRow("SELECT count(*) FROM subscriptions"), &n)
		return n == 0
	})
}

func TestPartnerOutageLosesAndReordersNothing(t *testing.T) {
	p := newPartner(t)
	p.mu.Lock()
	p.fail = 8 // 503 for a while
	p.mu.Unlock()
	e := newEnv(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, 0)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	const n = 300
	for i := 1; i <= n; i++ {
		e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i % 101))}, time.Now())
		if i%3 != 0 {
			e.hub.Flush(ctx) // mostly one change per commit: one event each
		}
	}
	e.hub.Flush(ctx)
	// Changes committed in one batch travel as one event per device, so
	// the number of events is what the outbox numbered.
	want := e.numbered()
	if want < n/10 {
		t.Fatalf("only %d events for %d changes", want, n)
	}
	var seqs []int
	var last any
	testutil.Eventually(t, 20*time.Second, "every event", func() bool {
		seqs = seqs[:0]
		for _, r := range p.got() {
			for _, ev := range r.Payload["events"].([]any) {
				seqs = append(seqs, int(ev.(map[string]any)["sequence"].(float64)))
				last = ev.(map[string]any)["state"].(map[string]any)["brightness"]
			}
		}
		return len(seqs) >= want
	})
	if last != float64(n%101) {
		t.Errorf("last brightness delivered %v, want %d", last, n%101)
	}
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("sequence %d at position %d: events lost or reordered (%v...)", s, i, seqs[:min(len(seqs), 20)])
		}
	}
	if len(p.got()) >= want {
		t.Errorf("%d POSTs for %d events: no batching under backlog", len(p.got()), want)
	}
	// Received is not yet acknowledged: the worker deletes a batch after
	// the partner's answer, so the outbox empties a moment later.
	testutil.Eventually(t, 5*time.Second, "the outbox to empty", func() bool { return e.n.Backlog(context.Background()) == 0 })
}

func TestUnauthorizedPushGetsFreshTokenAndRetry(t *testing.T) {
	p := newPartner(t)
	e := newEnv(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, 0)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	e.hub.ReportState("l1", map[string]device.Value{"power": device.Bool(true)}, time.Now())
	testutil.Eventually(t, 5*time.Second, "first push", func() bool { return len(p.got()) == 1 })
	p.mu.Lock()
	p.validTok = "rotated-by-partner" // every token the hub holds is now refused
	p.mu.Unlock()
	e.hub.ReportState("l1", map[string]device.Value{"power": device.Bool(false)}, time.Now())
	testutil.Eventually(t, 5*time.Second, "second push", func() bool { return len(p.got()) == 2 })
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tokens != 2 {
		t.Fatalf("tokens issued = %d, want 2 (one refresh after the 401)", p.tokens)
	}
}

func TestHMACSignatureForSharedSecretPartners(t *testing.T) {
	p := newPartner(t)
	part := Partner{ClientID: "A", CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true, HMACSecret: "k3y"}
	e := newEnv(t, "", fixedPartners{"A": part}, p.caFile, 0)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	e.hub.ReportState("l1", map[string]device.Value{"power": device.Bool(true)}, time.Now())
	testutil.Eventually(t, 5*time.Second, "push", func() bool { return len(p.got()) == 1 })
	p.mu.Lock()
	sig := p.hmacSeen[0]
	p.mu.Unlock()
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 {
		t.Fatalf("X-CIC-Signature = %q", sig)
	}
}

func TestSubscriptionsArePerPartner(t *testing.T) {
	p := newPartner(t)
	parts := fixedPartners{"A": partnerA(p), "B": {ClientID: "B", CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true}}
	e := newEnv(t, "", parts, p.caFile, 0)
	ctx := context.Background()
	sub := e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	callerB := cic.Caller{ClientID: "B", UserID: "u1", GrantID: "g2"}
	raw, _ := json.Marshal(map[string]string{"subscriptionId": sub})
	if _, err := e.n.unsubscribe(ctx, callerB, raw); device.CodeOf(err) != device.CodeSubscriptionNotFound {
		t.Fatalf("B ended A's subscription: %v", err)
	}
	out, _ := e.n.list(ctx, callerB, json.RawMessage(`{}`))
	if b, _ := json.Marshal(out); string(b) != `{"subscriptions":[]}` {
		t.Fatalf("B sees %s", b)
	}
	out, _ = e.n.list(ctx, callerA, json.RawMessage(`{}`))
	if b, _ := json.Marshal(out); !strings.Contains(string(b), sub) {
		t.Fatalf("A does not see its subscription: %s", b)
	}
	if _, err := e.n.unsubscribe(ctx, callerA, raw); err != nil {
		t.Fatal(err)
	}
}

func TestCallbackChecksRefuseAttacks(t *testing.T) {
	ctx := context.Background()
	// A resolver that answers every name with the address in the name's
	// first label, like a hostile DNS would.
	for _, tc := range []struct {
		name         string
		url          string
		hosts        []string
		allowPrivate bool
		want         string
	}{
		{"http scheme", "http://cb.example.net/n", []string{"cb.example.net"}, false, "https"},
		{"unregistered host", "https://evil.example.net/n", []string{"cb.example.net"}, false, "not registered"},
		{"loopback literal", "https://127.0.0.1/n", []string{"127.0.0.1"}, false, "loopback"},
		{"metadata service", "https://169.254.169.254/latest", []string{"169.254.169.254"}, false, "link-local"},
		{"private literal", "https://192.168.1.10/n", []string{"192.168.1.10"}, false, "private"},
		{"registered name resolving to loopback", "https://localhost/n", []string{"localhost"}, false, "loopback"},
		{"credentials in URL", "https://u:p@cb.example.net/n", []string{"cb.example.net"}, false, "credentials"},
		{"private allowed for this partner", "https://127.0.0.1/n", []string{"127.0.0.1"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckCallback(ctx, tc.url, tc.hosts, tc.allowPrivate, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if device.CodeOf(err) != device.CodeInvalidCallback || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want INVALID_CALLBACK mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDialGuardRefusesPrivateAddressesAtConnectTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// What DNS rebinding would achieve: a name accepted at subscribe time
	// now pointing at the hub itself. The dial is refused all the same.
	if c, err := guardedDialer(false).Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("dialled a loopback address")
	}
	// Special-purpose addresses (issue 15's list, and their IPv6 forms) are
	// refused before a packet leaves: Control runs before connect.
	for _, addr := range []string{"198.18.0.1:443", "0.1.2.3:443", "192.0.0.1:443", "240.0.0.1:443",
		"255.255.255.255:443", "[64:ff9b::c612:1]:443", "[::c612:1]:443", "[2002:c612:1::1]:443"} {
		c, err := guardedDialer(false).Dial("tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("dialled %s", addr)
		}
		if !strings.Contains(err.Error(), "refusing to dial") {
			t.Errorf("%s: %v, want the guard's refusal", addr, err)
		}
	}
	c, err := guardedDialer(true).Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("partner allowed private addresses, dial refused: %v", err)
	}
	c.Close()
}

func TestRedirectIsNotFollowed(t *testing.T) {
	target := newPartner(t)
	p := newPartner(t)
	// The partner's callback answers with a redirect to another server
	// (standing in for a private address the partner wants the hub to hit).
	redir := p.url("/redirect")
	p.mu.Lock()
	p.redirect = target.url("/notify")
	p.mu.Unlock()
	e := newEnv(t, "", fixedPartners{"A": {ClientID: "A", CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true}}, p.caFile, 0)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, redir, EventStatusChanged)
	e.hub.ReportState("l1", map[string]device.Value{"power": device.Bool(true)}, time.Now())
	// The recorded failure is the end of the delivery attempt: a
	// followed redirect would have reached the target before it.
	var result string
	testutil.Eventually(t, 5*time.Second, "the delivery's HTTP 307 failure recorded", func() bool {
		err := e.st.DB().QueryRow("SELECT last_result FROM partner_delivery WHERE client_id = 'A'").Scan(&result)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("reading partner_delivery: %v", err)
		}
		return strings.Contains(result, "HTTP 307")
	})
	if len(target.got()) != 0 {
		t.Fatal("a redirect was followed")
	}
}

func TestExpiredEventsAreDroppedAndCounted(t *testing.T) {
	p := newPartner(t)
	p.setDown(true)
	e := newEnv(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, 0, func(o *Options) { o.MaxAge = 50 * time.Millisecond })
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	for i := 0; i < 5; i++ {
		e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i))}, time.Now())
		e.hub.Flush(ctx)
	}
	testutil.Eventually(t, 5*time.Second, "expired events dropped", func() bool { return e.n.Stats().Dropped == 5 })
	var dropped int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT dropped FROM partner_delivery WHERE client_id = 'A'"), &dropped)
	if dropped != 5 {
		t.Fatalf("dropped recorded = %d", dropped)
	}
}
