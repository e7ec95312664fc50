package localbus

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// A worker takes everything waiting in one batch, in arrival order.
func TestStateQueueTakesWhatWaitsInOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pushed int
	}{
		{"one message", 1},
		{"a batch", 10},
		{"a full queue", 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newStateQueue(16)
			ctx := context.Background()
			for i := range tc.pushed {
				if !q.push(ctx, busMessage{topic: strconv.Itoa(i)}) {
					t.Fatal("push refused")
				}
			}
			got, ok := q.take(ctx, nil)
			if !ok || len(got) != tc.pushed {
				t.Fatalf("took %d messages (ok %v), want %d", len(got), ok, tc.pushed)
			}
			for i, m := range got {
				if m.topic != strconv.Itoa(i) {
					t.Fatalf("message %d is %q, want %q", i, m.topic, strconv.Itoa(i))
				}
			}
			q.mu.Lock()
			left := len(q.msgs)
			q.mu.Unlock()
			if left != 0 {
				t.Errorf("%d messages left after take", left)
			}
		})
	}
}

// A full queue holds its producers back (bounded memory) until the worker
// takes; every waiting producer then gets through, none is forgotten.
func TestStateQueueFullBlocksProducersUntilTaken(t *testing.T) {
	const max, producers, each = 4, 3, 20
	q := newStateQueue(max)
	ctx := context.Background()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				q.push(ctx, busMessage{topic: strconv.Itoa(p) + "/" + strconv.Itoa(i)})
			}
		})
	}
	next := map[string]int{}
	var spare []busMessage
	for got := 0; got < producers*each; {
		msgs, ok := q.take(ctx, spare)
		if !ok {
			t.Fatal("take failed")
		}
		if len(msgs) > max {
			t.Fatalf("took %d messages from a queue bounded at %d", len(msgs), max)
		}
		for _, m := range msgs {
			p, i, _ := cutTopic(m.topic)
			if i != next[p] {
				t.Fatalf("producer %s: message %d after %d, want in order", p, i, next[p]-1)
			}
			next[p]++
		}
		got += len(msgs)
		spare = msgs[:0]
	}
	wg.Wait()
}

func cutTopic(s string) (string, int, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			n, err := strconv.Atoi(s[i+1:])
			return s[:i], n, err == nil
		}
	}
	return s, 0, false
}

// A producer waiting on a full queue and a worker waiting on an empty one
// both give up when their context ends.
func TestStateQueueWaitsEndWithContext(t *testing.T) {
	q := newStateQueue(1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if !q.push(context.Background(), busMessage{topic: "a"}) {
		t.Fatal("push into an empty queue refused")
	}
	if q.push(ctx, busMessage{topic: "b"}) {
		t.Error("push into a full queue succeeded")
	}
	if msgs, ok := q.take(context.Background(), nil); !ok || len(msgs) != 1 || msgs[0].topic != "a" {
		t.Errorf("take = %v %v, want only the message queued before", msgs, ok)
	}
	if _, ok := q.take(ctx, nil); ok {
		t.Error("take from an empty queue succeeded after its context ended")
	}
}
