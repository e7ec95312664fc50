package store

import "sync"

// queueKeep is the capacity of queue buffer the writer keeps once idle
// (see writerLoop.trim); a bigger one, grown by a burst, is given back.
const queueKeep = 256

// opQueue is the writer's input queue. It grows with what is waiting, up
// to max changes, instead of a channel preallocated at that bound: the
// default bound (8,192 changes, ~0.8 MB) is needed only while a commit
// holds the writer during a burst, and an idle agent kept all of it.
type opQueue struct {
	mu      sync.Mutex
	notFull sync.Cond // signalled when the writer takes what is queued
	ops     []writerOp
	max     int
	closed  bool
	ready   chan struct{} // one token: ops were added or the queue closed
}

func newOpQueue(max int) *opQueue {
	q := &opQueue{max: max, ready: make(chan struct{}, 1)}
	q.notFull.L = &q.mu
	return q
}

func (q *opQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// put queues changes in order, waiting while max changes are queued.
func (q *opQueue) put(cs ...Change) {
	q.mu.Lock()
	for _, c := range cs {
		for len(q.ops) >= q.max {
			q.wake() // what is queued so far may not have been announced
			q.notFull.Wait()
		}
		q.ops = append(q.ops, writerOp{change: c})
	}
	q.mu.Unlock()
	q.wake()
}

// barrier queues a flush barrier. It does not wait for room: barriers are
// one per waiting Flush or Close caller, and the bound is for changes.
// The Writer's lock keeps barriers and changes from coming after Close's.
func (q *opQueue) barrier(ch chan error, closing bool) {
	q.mu.Lock()
	q.ops = append(q.ops, writerOp{flush: ch})
	q.closed = closing
	q.mu.Unlock()
	q.wake()
}

// take returns everything queued, in order, and whether the queue is closed
// (then nothing more will come). buf, the previous take's slice, becomes
// the queue's buffer: the two buffers alternate.
func (q *opQueue) take(buf []writerOp) ([]writerOp, bool) {
	clear(buf) // drop the values' strings
	q.mu.Lock()
	ops, closed := q.ops, q.closed
	q.ops = buf[:0]
	q.mu.Unlock()
	q.notFull.Broadcast()
	return ops, closed
}

// trim gives back a burst-sized buffer while nothing is queued.
func (q *opQueue) trim() {
	q.mu.Lock()
	if len(q.ops) == 0 && cap(q.ops) > queueKeep {
		q.ops = nil
	}
	q.mu.Unlock()
}

// big reports whether the queue's buffer is burst-sized.
func (q *opQueue) big() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return cap(q.ops) > queueKeep
}
