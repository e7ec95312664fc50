package localbus

import (
	"context"
	"sync"
)

// byteBudget bounds the bytes held by a queue: acquire waits while taking n
// more would go past max. A single item larger than max still passes when
// the queue is empty, so it cannot wait for ever.
type byteBudget struct {
	mu      sync.Mutex
	used    int64
	max     int64
	waiting int
	wake    chan struct{} // closed (and replaced) by a release while someone waits
}

func newByteBudget(max int64) *byteBudget {
	return &byteBudget{max: max, wake: make(chan struct{})}
}

// acquire takes n bytes, waiting for room; false if ctx ended first.
func (b *byteBudget) acquire(ctx context.Context, n int64) bool {
	b.mu.Lock()
	for b.used != 0 && b.used+n > b.max {
		b.waiting++
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			b.mu.Lock()
			b.waiting--
			b.mu.Unlock()
			return false
		}
		b.mu.Lock()
		b.waiting--
	}
	b.used += n
	b.mu.Unlock()
	return true
}

// release gives n bytes back.
func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	if b.waiting > 0 {
		close(b.wake)
		b.wake = make(chan struct{})
	}
	b.mu.Unlock()
}

// inUse is the bytes held now.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
