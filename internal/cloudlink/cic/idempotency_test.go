package cic

import (
	"context"
	"fmt"
	"path/filepath"
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

func TestIdempotencyAnswersRetriesOnceAndPerPartner(t *testing.T) {
	m := newIdempotency(idemDB(t).DB(), 10*time.Minute)
	ctx := context.Background()
	var runs atomic.Int64
	act := func() (int, []byte) { n := runs.Add(1); return 200, []byte(fmt.Sprintf("answer %d", n)) }
	// Concurrent duplicates run once.
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Add(1)
		go func() { defer wg.Done(); _, b := m.do(ctx, "A", "m1", true, act); answers[i] = string(b) }()
	}
	wg.Wait()
	for _, a := range answers {
		if a != "answer 1" {
			t.Fatalf("answers %q: acted more than once", answers)
		}
	}
	if _, b := m.do(ctx, "B", "m1", true, act); string(b) != "answer 2" {
		t.Fatalf("partner B got %q: messageIds are per partner", b)
	}
}

func TestIdempotencyMemoryIsBoundedAndMutationsSurviveEviction(t *testing.T) {
	m := newIdempotency(idemDB(t).DB(), 10*time.Minute)
	m.maxBytes = 10 << 10
	ctx := context.Background()
	body := make([]byte, 1000)
	var runs atomic.Int64
	act := func() (int, []byte) { runs.Add(1); return 200, body }
	m.do(ctx, "A", "write-1", true, act)
	for i := range 500 {
		m.do(ctx, "A", fmt.Sprintf("read-%d", i), false, act)
	}
	if m.memBytes > m.maxBytes || len(m.mem) > 11 {
		t.Fatalf("memory holds %d bytes in %d entries, bound %d", m.memBytes, len(m.mem), m.maxBytes)
	}
	if len(m.order)-m.head != len(m.mem) {
		t.Fatalf("queue %d live entries, map %d", len(m.order)-m.head, len(m.mem))
	}
	before := runs.Load()
	// The write was evicted from memory but answers from the database.
	m.do(ctx, "A", "write-1", true, act)
	if runs.Load() != before {
		t.Fatal("an evicted mutating message acted again")
	}
	// An evicted read is simply answered afresh.
	m.do(ctx, "A", "read-0", false, act)
	if runs.Load() != before+1 {
		t.Fatal("an evicted read was not answered afresh")
	}
}

func TestIdempotencyForgetsAfterTheWindow(t *testing.T) {
	m := newIdempotency(idemDB(t).DB(), 50*time.Millisecond)
	ctx := context.Background()
	var runs atomic.Int64
	act := func() (int, []byte) { runs.Add(1); return 200, []byte("x") }
	m.do(ctx, "A", "m", true, act)
	time.Sleep(80 * time.Millisecond)
	m.do(ctx, "A", "m", true, act)
	if runs.Load() != 2 {
		t.Fatalf("runs = %d: a messageId past the window must act again", runs.Load())
	}
	if len(m.mem) != 1 {
		t.Fatalf("expired entries kept: %d", len(m.mem))
	}
}
