package localbus

import (
	"context"
	"sync"
)

// stateQueueLen bounds the messages waiting for one state worker (the
// payload bytes are bounded across workers by MQTTOptions.StateQueueBytes).
const stateQueueLen = 256

// stateQueue is one state worker's input. paho's delivery goroutine appends
// messages; the worker takes everything waiting in one go and reports it to
// the hub in one call (discovery.messages). Compared with a channel receive
// per message, a busy worker costs the producer one uncontended lock per
// message and is woken once per batch, not per message. It is bounded: push
// waits while stateQueueLen messages wait, so the broker connection slows
// down instead of memory growing.
type stateQueue struct {
	mu      sync.Mutex
	msgs    []busMessage
	max     int
	waiting int           // producers waiting for room
	room    chan struct{} // closed (and replaced) by a take while producers wait
	ready   chan struct{} // a token when msgs went from empty to not empty
}

func newStateQueue(max int) *stateQueue {
	return &stateQueue{max: max, msgs: make([]busMessage, 0, max), room: make(chan struct{}), ready: make(chan struct{}, 1)}
}

// push appends m, waiting while the queue is full; false if ctx ended
// first (m is then not queued).
func (q *stateQueue) push(ctx context.Context, m busMessage) bool {
	q.mu.Lock()
	for len(q.msgs) >= q.max {
		q.waiting++
		room := q.room
		q.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			q.mu.Lock()
			q.waiting--
			q.mu.Unlock()
			return false
		}
		q.mu.Lock()
		q.waiting--
	}
	q.msgs = append(q.msgs, m)
	first := len(q.msgs) == 1
	q.mu.Unlock()
	if first {
		select {
		case q.ready <- struct{}{}:
		default: // the worker has a token already
		}
	}
	return true
}

// take waits until messages are queued and returns all of them, in order,
// leaving spare (emptied) as the queue's storage; false if ctx ended first.
// The caller owns the returned slice until it passes it back as spare.
func (q *stateQueue) take(ctx context.Context, spare []busMessage) ([]busMessage, bool) {
	for {
		q.mu.Lock()
		if len(q.msgs) > 0 {
			got := q.msgs
			q.msgs = spare[:0]
			if q.waiting > 0 {
				close(q.room)
				q.room = make(chan struct{})
			}
			q.mu.Unlock()
			return got, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, false
		}
	}
}
