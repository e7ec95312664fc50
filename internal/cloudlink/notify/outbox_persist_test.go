package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// A flush interval long enough that only Flush and the graceful stop write.
var longFlush = store.WriterOptions{FlushInterval: time.Hour, Tick: make(chan time.Time)}

func durableOutbox(t *testing.T, e *env) int {
	t.Helper()
	var k int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT count(*) FROM outbox"), &k)
	return k
}

// Events a partner acknowledges before the next flush are delivered from
// memory and never written to the database.
func TestHealthyPartnersEventsNeverReachTheDatabase(t *testing.T) {
	p := newPartner(t)
	e := newEnvWriter(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, longFlush)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	const n = 40
	for i := 1; i <= n; i++ {
		e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i))}, time.Now())
	}
	testutil.Eventually(t, 10*time.Second, "every event delivered", func() bool {
		got := p.got()
		if len(got) == 0 || e.n.Backlog(ctx) != 0 {
			return false
		}
		evs := got[len(got)-1].Payload["events"].([]any)
		last := evs[len(evs)-1].(map[string]any)["state"].(map[string]any)["brightness"]
		return last == float64(n)
	})
	if err := e.hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if k, s := durableOutbox(t, e), e.n.Stats(); k != 0 || s.Persisted != 0 {
		t.Fatalf("durable outbox holds %d events, %d persisted; want none: they were acknowledged before the flush", k, s.Persisted)
	}
}

// A partner that is down: its events are made durable by the flush, their
// copies deleted by the flush after the partner acknowledged them.
func TestFlushPersistsUndeliveredAndDeletesAcknowledged(t *testing.T) {
	p := newPartner(t)
	p.setDown(true)
	e := newEnvWriter(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, longFlush)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	for i := 1; i <= 10; i++ {
		e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i))}, time.Now())
		e.hub.Flush(ctx) // one event each
	}
	if k := durableOutbox(t, e); k != 10 {
		t.Fatalf("durable outbox holds %d events after the flush, want 10", k)
	}
	p.setDown(false)
	testutil.Eventually(t, 10*time.Second, "the backlog delivered", func() bool { return e.n.Backlog(ctx) == 0 })
	if k := durableOutbox(t, e); k != 10 {
		t.Fatalf("durable outbox holds %d events before the next flush, want 10 (no write per acknowledgement)", k)
	}
	if err := e.hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if k := durableOutbox(t, e); k != 0 {
		t.Fatalf("durable outbox holds %d acknowledged events after the flush, want 0", k)
	}
}

// A graceful stop writes every undelivered event and the exact next
// sequence number: after the restart the partner gets everything, in
// order, with no gap.
func TestGracefulRestartDeliversEverythingWithoutGap(t *testing.T) {
	p := newPartner(t)
	p.setDown(true)
	db := t.TempDir() + "/" + store.FileName
	parts := fixedPartners{"A": partnerA(p)}
	e := newEnvWriter(t, db, parts, p.caFile, longFlush)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	const n = 25
	for i := 1; i <= n; i++ {
		e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i))}, time.Now())
	}
	testutil.Eventually(t, 5*time.Second, "the events queued", func() bool { return e.n.Backlog(ctx) >= 1 })
	// Every report through the window (and numbered) before counting: a
	// window still open would number one more event during the stop.
	if err := e.hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	queued := e.numbered()
	e.stop()

	p.setDown(false)
	e = newEnvWriter(t, db, parts, p.caFile, longFlush)
	var next int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT next_seq FROM subscriptions"), &next)
	if next != queued+1 {
		t.Fatalf("next_seq %d after a graceful stop with %d events numbered, want %d", next, queued, queued+1)
	}
	e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(99)}, time.Now())
	var seqs []int
	testutil.Eventually(t, 10*time.Second, "every event", func() bool {
		seqs = seqs[:0]
		for _, r := range p.got() {
			for _, ev := range r.Payload["events"].([]any) {
				seqs = append(seqs, int(ev.(map[string]any)["sequence"].(float64)))
			}
		}
		return len(seqs) >= queued+1
	})
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("sequence %d at position %d: %v", s, i, seqs)
		}
	}
}

// Between flushes the running notifier's health shows the memory backlog,
// which the database does not hold yet.
func TestLiveHealthShowsTheMemoryBacklog(t *testing.T) {
	p := newPartner(t)
	p.setDown(true)
	e := newEnvWriter(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, longFlush)
	ctx := context.Background()
	e.hub.UpsertDevice(ctx, lamp("l1"))
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	e.hub.ReportState("l1", map[string]device.Value{"brightness": device.Int(7)}, time.Now())
	testutil.Eventually(t, 5*time.Second, "the event queued", func() bool { return e.n.Backlog(ctx) == 1 })
	live, err := e.n.PartnerHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := PartnerHealth(ctx, e.st.DB())
	if err != nil {
		t.Fatal(err)
	}
	if live["A"].Backlog != 1 || stored["A"].Backlog != 0 {
		t.Fatalf("live backlog %d, stored %d; want 1 and 0 before the flush", live["A"].Backlog, stored["A"].Backlog)
	}
}

// The memory outbox gives the pages of delivered events back: a backlog
// of a down partner, once delivered, must not stay resident.
func TestMemoryOutboxShrinksAfterTheBacklogIsDelivered(t *testing.T) {
	p := newPartner(t)
	p.setDown(true)
	e := newEnvWriter(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, longFlush)
	ctx := context.Background()
	pages := func() int {
		var n int
		testutil.Scan(t, e.n.mem.QueryRowContext(ctx, "PRAGMA page_count"), &n)
		return n
	}
	const lamps = 500
	for i := 0; i < lamps; i++ {
		e.hub.UpsertDevice(ctx, lamp(fmt.Sprintf("l%d", i)))
	}
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	empty := pages()
	for i := 0; i < lamps; i++ {
		e.hub.ReportState(fmt.Sprintf("l%d", i), map[string]device.Value{"brightness": device.Int(int64(i % 101))}, time.Now())
	}
	if err := e.hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the backlog queued", func() bool { return e.n.Backlog(ctx) >= lamps })
	full := pages()
	if full <= empty {
		t.Fatalf("memory outbox %d pages with a backlog, %d empty: the backlog is not in it", full, empty)
	}
	p.setDown(false)
	testutil.Eventually(t, 10*time.Second, "the backlog delivered", func() bool { return e.n.Backlog(ctx) == 0 })
	// The flush deletes the durable copies and forgets their notes in `gone`.
	if err := e.hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if after := pages(); after > empty+1 {
		t.Fatalf("memory outbox keeps %d pages after delivering its backlog (%d with it, %d empty): freed pages not given back", after, full, empty)
	}
}

// After a flush made a burst of undelivered events durable, the notifier
// keeps neither the rows nor their payloads in memory.
func TestFlushKeepsNoPersistedRowsInMemory(t *testing.T) {
	p := newPartner(t)
	p.setDown(true)
	e := newEnvWriter(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, longFlush)
	ctx := context.Background()
	e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	const devices = 300
	for i := range devices {
		e.hub.UpsertDevice(ctx, lamp(fmt.Sprintf("l%d", i)))
	}
	for i := range devices {
		e.hub.ReportState(fmt.Sprintf("l%d", i), map[string]device.Value{"brightness": device.Int(int64(i))}, time.Now())
	}
	if err := e.hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if k := durableOutbox(t, e); k < devices/10 {
		t.Fatalf("durable outbox holds %d events; the test needs a burst made durable", k)
	}
	e.n.persistMu.Lock()
	held, payloads := cap(e.n.inFlight), 0
	for _, r := range e.n.inFlight[:cap(e.n.inFlight)] {
		payloads += len(r.payload)
	}
	e.n.persistMu.Unlock()
	if held > 256 || payloads != 0 {
		t.Errorf("after the flush the notifier holds room for %d rows and %d payload bytes; want none of the burst", held, payloads)
	}
}
