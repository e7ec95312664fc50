package cic

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/store"
)

func idemDB(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestIdem(t *testing.T, window time.Duration) *idempotency {
	return newIdempotency(idemDB(t).DB(), window, DefaultIdempotencyMaxBytes)
}

var hashQ = requestHash("CIC.Query", "QueryStatus", []byte(`{"deviceIds":["a"]}`))

func key(client, grant, msg string) idemKey {
	return idemKey{client: client, grant: grant, message: msg}
}

func TestIdempotencyAnswersRetriesOnceAndPerPartner(t *testing.T) {
	m := newTestIdem(t, 10*time.Minute)
	ctx := context.Background()
	var runs atomic.Int64
	act := func() (int, []byte, bool) {
		n := runs.Add(1)
		return 200, []byte(fmt.Sprintf("answer %d", n)), true
	}
	// Concurrent duplicates run once.
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, b, _ := m.do(ctx, key("A", "g1", "m1"), hashQ, true, act)
			answers[i] = string(b)
		}()
	}
	wg.Wait()
	for _, a := range answers {
		if a != "answer 1" {
			t.Fatalf("answers %q: acted more than once", answers)
		}
	}
	if _, b, _ := m.do(ctx, key("B", "g9", "m1"), hashQ, true, act); string(b) != "answer 2" {
		t.Fatalf("partner B got %q: messageIds are per partner", b)
	}
}

func TestIdempotencyIsPerGrantSoHouseholdsNeverShareAnswers(t *testing.T) {
	m := newTestIdem(t, 10*time.Minute)
	ctx := context.Background()
	_, a, _ := m.do(ctx, key("A", "grant-household-1", "m1"), hashQ, true, func() (int, []byte, bool) { return 200, []byte("household 1"), true })
	_, b, err := m.do(ctx, key("A", "grant-household-2", "m1"), hashQ, true, func() (int, []byte, bool) { return 200, []byte("household 2"), true })
	if err != nil || string(a) != "household 1" || string(b) != "household 2" {
		t.Fatalf("same partner, two grants, one messageId: %q then %q (%v)", a, b, err)
	}
}

func TestIdempotencyRefusesAReusedMessageIDForAnotherRequest(t *testing.T) {
	st := idemDB(t)
	ctx := context.Background()
	control := requestHash("CIC.Control", "Control", []byte(`{"commands":[{"deviceId":"l","properties":{"power":true}}]}`))
	for _, persist := range []bool{false, true} {
		m := newIdempotency(st.DB(), 10*time.Minute, DefaultIdempotencyMaxBytes)
		msg := fmt.Sprintf("m-%v", persist)
		var runs int
		m.do(ctx, key("A", "g", msg), hashQ, persist, func() (int, []byte, bool) { runs++; return 200, []byte("q"), true })
		_, _, err := m.do(ctx, key("A", "g", msg), control, persist, func() (int, []byte, bool) { runs++; return 200, []byte("c"), true })
		if !errors.Is(err, errReused) || runs != 1 {
			t.Fatalf("persist=%v: reused messageId for Control: err %v, runs %d", persist, err, runs)
		}
		// The same request, re-encoded with other whitespace, is a retry.
		same := requestHash("CIC.Query", "QueryStatus", []byte("{ \"deviceIds\" : [ \"a\" ] }"))
		if _, b, err := m.do(ctx, key("A", "g", msg), same, persist, nil); err != nil || string(b) != "q" {
			t.Fatalf("persist=%v: retry with other whitespace: %q %v", persist, b, err)
		}
	}
	// After a restart (fresh memory) the database still knows the hash.
	m := newIdempotency(st.DB(), 10*time.Minute, DefaultIdempotencyMaxBytes)
	if _, _, err := m.do(ctx, key("A", "g", "m-true"), control, true, nil); !errors.Is(err, errReused) {
		t.Fatalf("after restart: %v", err)
	}
}

func TestIdempotencyKeepsOnlyMessagesThatActedInTheDatabase(t *testing.T) {
	st := idemDB(t)
	m := newIdempotency(st.DB(), 10*time.Minute, DefaultIdempotencyMaxBytes)
	ctx := context.Background()
	m.do(ctx, key("A", "g", "refused"), hashQ, true, func() (int, []byte, bool) { return 404, []byte("not found"), false })
	m.do(ctx, key("A", "g", "done"), hashQ, true, func() (int, []byte, bool) { return 200, []byte("ok"), true })
	var ids []string
	rows, err := st.DB().Query("SELECT message_id FROM message_ids")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 1 || ids[0] != "done" {
		t.Fatalf("message_ids holds %v, want only the message that acted", ids)
	}
}

func TestIdempotencyMemoryIsBoundedAndMutationsSurviveEviction(t *testing.T) {
	m := newTestIdem(t, 10*time.Minute)
	m.maxBytes = 10 << 10
	ctx := context.Background()
	body := make([]byte, 1000)
	var runs atomic.Int64
	act := func() (int, []byte, bool) { runs.Add(1); return 200, body, true }
	m.do(ctx, key("A", "g", "write-1"), hashQ, true, act)
	for i := range 500 {
		m.do(ctx, key("A", "g", fmt.Sprintf("read-%d", i)), hashQ, false, act)
	}
	if m.memBytes > m.maxBytes || len(m.mem) > 11 {
		t.Fatalf("memory holds %d bytes in %d entries, bound %d", m.memBytes, len(m.mem), m.maxBytes)
	}
	if len(m.order)-m.head != len(m.mem) {
		t.Fatalf("queue %d live entries, map %d", len(m.order)-m.head, len(m.mem))
	}
	before := runs.Load()
	// The write was evicted from memory but answers from the database.
	m.do(ctx, key("A", "g", "write-1"), hashQ, true, act)
	if runs.Load() != before {
		t.Fatal("an evicted mutating message acted again")
	}
	// An evicted read is simply answered afresh.
	m.do(ctx, key("A", "g", "read-0"), hashQ, false, act)
	if runs.Load() != before+1 {
		t.Fatal("an evicted read was not answered afresh")
	}
}

func TestIdempotencyForgetsAfterTheWindow(t *testing.T) {
	m := newTestIdem(t, 50*time.Millisecond)
	clk := &fakeClock{t: time.Now()}
	m.now = clk.now
	ctx := context.Background()
	var runs atomic.Int64
	act := func() (int, []byte, bool) { runs.Add(1); return 200, []byte("x"), true }
	m.do(ctx, key("A", "g", "m"), hashQ, true, act)
	clk.advance(49 * time.Millisecond)
	m.do(ctx, key("A", "g", "m"), hashQ, true, act)
	if runs.Load() != 1 {
		t.Fatalf("runs = %d: a messageId inside the window must not act again", runs.Load())
	}
	clk.advance(31 * time.Millisecond)
	m.do(ctx, key("A", "g", "m"), hashQ, true, act)
	if runs.Load() != 2 {
		t.Fatalf("runs = %d: a messageId past the window must act again", runs.Load())
	}
	if len(m.mem) != 1 {
		t.Fatalf("expired entries kept: %d", len(m.mem))
	}
}

// Small answers (a Control's is ~100 bytes) must not let the window hold
// tens of thousands of entries: what each entry costs besides its answer
// counts against the bound, so the heap it holds stays near it.
func TestIdempotencyBoundCountsWhatSmallAnswersReallyCost(t *testing.T) {
	m := newTestIdem(t, 10*time.Minute)
	m.maxBytes = 256 << 10
	ctx := context.Background()
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for i := range 20000 {
		msg := fmt.Sprintf("%08d-1c2d-4e5f-8a9b-0c1d2e3f4a5b", i) // a UUID-sized messageId
		m.do(ctx, key("partner-client-0123456789", "grant-0123456789abcdef", msg), hashQ, false,
			func() (int, []byte, bool) {
				return 200, fmt.Appendf(nil, `{"header":{"messageId":%q},"payload":{}}`, msg), false
			})
	}
	held := heap() - min(before, heap())
	if max := uint64(2 * m.maxBytes); held > max {
		t.Errorf("the window holds %d bytes of heap in %d entries; bound %d, want at most %d", held, len(m.mem), m.maxBytes, max)
	}
	if n := len(m.mem); n > m.maxBytes/idemEntryOverhead {
		t.Errorf("%d entries in a %d-byte bound", n, m.maxBytes)
	}
	runtime.KeepAlive(m)
}
