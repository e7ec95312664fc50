package main

import (
	"database/sql"
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

	"github.com/hubagent/hubagent/internal/testutil"
)

// Hostile input from a linked partner against the real binary (issue 14,
// partner side; docs/limits.md): a Control flood, a reused messageId, a
// Subscribe flood, and a failing callback beside a healthy one.

// dataDirBytes is the size of the agent's database files (database, WAL,
// shared memory).
func dataDirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, f := range []string{"hubagent.db", "hubagent.db-wal", "hubagent.db-shm"} {
		if fi, err := os.Stat(filepath.Join(dir, "hubagent-data", f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// readOnlyDB opens the agent's database for inspection beside the running
// agent (WAL readers do not block its writer).
func readOnlyDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "hubagent-data", "hubagent.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestControlFloodGrowsTheDatabaseAtMost20MB(t *testing.T) {
	t.Parallel()
	w := newCICWorld(t, "")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control", []string{e2eLampID}, "--config", "hubagent.toml")
	before := dataDirBytes(t, w.dir)
	ids := func(n, size, salt int) []any {
		cmds := make([]any, n)
		for i := range cmds {
			id := fmt.Sprintf("%d-%d-", salt, i)
			cmds[i] = map[string]any{"deviceId": id + strings.Repeat("x", size-len(id)), "properties": map[string]any{"power": true}}
		}
		return cmds
	}
	// Within the default budget (20/s sustained, 40 burst): 19 messages a
	// second for 20 s, each with a new messageId. Two in three are 50
	// commands with 5,000-byte device ids (some 250 KB, just under the body
	// limit); one in three is 50 commands for unknown devices with ids at
	// the 256-byte limit.
	const rate, dur = 19, 20 * time.Second
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	end := time.Now().Add(dur)
	codes := map[string]int{}
	sent, withinLimit, idBytes := 0, 0, 0
	for time.Now().Before(end) {
		<-tick.C
		var cmds []any
		if sent%3 == 2 {
			cmds, withinLimit, idBytes = ids(50, 256, sent), withinLimit+1, idBytes+50*256
		} else {
			cmds, idBytes = ids(50, 5000, sent), idBytes+50*5000
		}
		ans := a.callAs(a.token(), "CIC.Control", "Control", fmt.Sprintf("flood-%d", sent), map[string]any{"commands": cmds})
		codes[fmt.Sprintf("%d %s", ans.status, ans.code())]++
		sent++
	}
	if codes["429 RATE_LIMITED"] > sent/20 {
		t.Fatalf("the flood was meant to stay within the rate limit: %v", codes)
	}
	if codes["400 INVALID_REQUEST"] < sent*2/3-codes["429 RATE_LIMITED"] || codes["200 "] == 0 {
		t.Fatalf("answers %v for %d messages", codes, sent)
	}
	growth := dataDirBytes(t, w.dir) - before
	wal, _ := os.Stat(filepath.Join(w.dir, "hubagent-data", "hubagent.db-wal"))
	var walSize int64
	if wal != nil {
		walSize = wal.Size()
	}
	t.Logf("%d messages (%.0f MB of device ids) in %v: answers %v; database files grew %d bytes (WAL now %d bytes)", sent,
		float64(idBytes)/1e6, dur, codes, growth, walSize)
	if growth > 20<<20 {
		t.Fatalf("database grew %d bytes, bound 20 MB", growth)
	}
	db := readOnlyDB(t, w.dir)
	var rows, longest, msgIDs int
	if err := db.QueryRow("SELECT count(*), coalesce(max(length(device_id)), 0) FROM audit").Scan(&rows, &longest); err != nil {
		t.Fatal(err)
	}
	testutil.Scan(t, db.QueryRow("SELECT count(*) FROM message_ids"), &msgIDs)
	// One compact row per message naming no visible device, no row for
	// refused ones, and nothing kept for idempotency of messages that
	// acted on nothing.
	if rows > withinLimit || longest != 0 || msgIDs != 0 {
		t.Fatalf("audit has %d rows (device id up to %d bytes), message_ids %d rows, for %d messages naming unknown devices",
			rows, longest, msgIDs, withinLimit)
	}
}

func TestReusedMessageIDWithAnotherOperationIsRefusedByTheAgent(t *testing.T) {
	t.Parallel()
	w := newCICWorld(t, "")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control", []string{e2eLampID}, "--config", "hubagent.toml")
	if ans := a.callAs(a.token(), "CIC.Query", "QueryStatus", "reused-1", map[string]any{"deviceIds": []string{e2eLampID}}); ans.status != 200 {
		t.Fatalf("QueryStatus: %d %s", ans.status, ans.raw)
	}
	ctl := map[string]any{"commands": []any{map[string]any{"deviceId": e2eLampID, "properties": map[string]any{"brightness": 20}}}}
	ans := a.callAs(a.token(), "CIC.Control", "Control", "reused-1", ctl)
	if ans.status != 400 || ans.code() != "INVALID_REQUEST" || ans.name != "ErrorResponse" {
		t.Fatalf("Control reusing a QueryStatus messageId: %d %s", ans.status, ans.raw)
	}
	// Another payload under a Control's messageId is refused too.
	if ans := a.callAs(a.token(), "CIC.Control", "Control", "ctl-1", ctl); ans.status != 200 {
		t.Fatalf("Control: %d %s", ans.status, ans.raw)
	}
	ctl2 := map[string]any{"commands": []any{map[string]any{"deviceId": e2eLampID, "properties": map[string]any{"brightness": 90}}}}
	if ans := a.callAs(a.token(), "CIC.Control", "Control", "ctl-1", ctl2); ans.code() != "INVALID_REQUEST" {
		t.Fatalf("Control reusing a Control messageId with another payload: %d %s", ans.status, ans.raw)
	}
	// 20 % is 51 on the lamp's 0-254 scale.
	if got := w.app.takeCommands(); len(got) != 1 || !strings.Contains(got[0], `"brightness":51`) {
		t.Fatalf("commands the lamp received: %q; want only the one Control that was not a reuse", got)
	}
}

// hostileCallbacks is a partner's notification endpoint: every path
// records the StatusChanged brightness values it receives; paths marked
// down answer 503.
type hostileCallbacks struct {
	srv    *httptest.Server
	caFile string
	mu     sync.Mutex
	posts  int
	down   map[string]bool
	bright map[string][]float64
}

func newHostileCallbacks(t *testing.T) *hostileCallbacks {
	h := &hostileCallbacks{down: map[string]bool{}, bright: map[string][]float64{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Payload struct {
				Events []struct {
					State map[string]any `json:"state"`
				} `json:"events"`
			} `json:"payload"`
		}
		json.NewDecoder(r.Body).Decode(&env)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.posts++
		if h.down[r.URL.Path] {
			w.WriteHeader(503)
			return
		}
		for _, e := range env.Payload.Events {
			if b, ok := e.State["brightness"].(float64); ok {
				h.bright[r.URL.Path] = append(h.bright[r.URL.Path], b)
			}
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(h.srv.Close)
	h.caFile = filepath.Join(t.TempDir(), "partner-ca.pem")
	os.WriteFile(h.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw}), 0o600)
	return h
}

func (h *hostileCallbacks) postCount() int { h.mu.Lock(); defer h.mu.Unlock(); return h.posts }

func (h *hostileCallbacks) received(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bright[path])
}

func TestSubscribeFloodAndFailingCallbackAgainstTheAgent(t *testing.T) {
	t.Parallel()
	cb := newHostileCallbacks(t)
	// A generous request budget so the flood is quick, and the per-grant
	// cap raised so it is the per-partner cap (default 64) that holds.
	w := newCICWorldAPI(t, "rate_limit = 1000\nrate_burst = 2000\n",
		"\n[notify]\nca_file = \""+cb.caFile+"\"\nmax_subscriptions_per_grant = 1000\n"+
			// Every window commits, so the state table shows when the
			// lamp's first state has passed the window (below).
			"\n[store]\nflush_interval = \"0s\"\n")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read subscriptions", []string{e2eLampID},
		"--config", "hubagent.toml", "--callback-host", "127.0.0.1", "--allow-private-callback", "--notify-hmac-secret", "hostile-test-hmac-secret")
	// The lamp's first state is held in the state writer's coalescing window
	// for a moment after the agent reports it; committed after the
	// subscriptions exist, it would reach them as a change of its own.
	db := readOnlyDB(t, w.dir)
	testutil.Eventually(t, 10*time.Second, "the lamp's first state committed", func() bool {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM state WHERE device_id = ? AND name = 'brightness'`, e2eLampID).Scan(&n)
		if err != nil {
			t.Fatalf("reading the state table: %v", err)
		}
		return n == 1
	})
	var subs []string
	refused := 0
	for i := range 1000 {
		ans := a.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": fmt.Sprintf("%s/cb/%d", cb.srv.URL, i),
			"events": []string{"StatusChanged"}})
		switch {
		case ans.status == 200:
			subs = append(subs, ans.payload["subscriptionId"].(string))
		case ans.code() == "INVALID_REQUEST":
			refused++
		default:
			t.Fatalf("Subscribe %d: %d %s", i, ans.status, ans.raw)
		}
	}
	if len(subs) != 64 || refused != 1000-64 {
		t.Fatalf("%d subscriptions accepted, %d refused; want 64 and the rest refused", len(subs), refused)
	}
	// One lamp change: one POST per subscription, no more.
	w.app.publish(t, "zigbee2mqtt/Lamp", `{"state":"ON","brightness":11}`)
	testutil.Eventually(t, 20*time.Second, "64 POSTs", func() bool { return cb.postCount() >= 64 })
	time.Sleep(time.Second) // an extra POST would be on its way by now
	if n := cb.postCount(); n > 64 {
		t.Fatalf("one change caused %d POSTs", n)
	}
	// Keep two: cb/0 healthy, cb/1 failing.
	for _, l := range a.call("CIC.Subscription", "ListSubscriptions", map[string]any{}).payload["subscriptions"].([]any) {
		s := l.(map[string]any)
		if u := s["callbackUrl"].(string); strings.HasSuffix(u, "/cb/0") || strings.HasSuffix(u, "/cb/1") {
			continue
		}
		if ans := a.call("CIC.Subscription", "Unsubscribe", map[string]any{"subscriptionId": s["subscriptionId"]}); ans.status != 200 {
			t.Fatalf("Unsubscribe: %d %s", ans.status, ans.raw)
		}
	}
	cb.mu.Lock()
	cb.down["/cb/1"] = true
	cb.mu.Unlock()
	// Each change reaches the healthy callback within seconds (the
	// coalescing window is 200 ms) while its sibling keeps failing.
	for i := range 10 {
		before := cb.received("/cb/0")
		w.app.publish(t, "zigbee2mqtt/Lamp", fmt.Sprintf(`{"state":"ON","brightness":%d}`, 30+20*i))
		testutil.Eventually(t, 5*time.Second, fmt.Sprintf("change %d at the healthy callback", i), func() bool {
			return cb.received("/cb/0") > before
		})
	}
	cb.mu.Lock()
	failing := len(cb.bright["/cb/1"])
	cb.mu.Unlock()
	if failing != 1 { // only the change before it went down
		t.Fatalf("the failing callback recorded %d changes", failing)
	}
}
