package localbus

import (
	"context"
	"sync"
)

// byteBudget bounds the bytes held by a queue: acquire waits while taking n
// more would go past max. One goroutine acquires (paho's delivery
// goroutine), any may release. A single item larger than max still passes
// when the queue is empty, so it cannot wait for ever.
type byteBudget struct {
	mu    sync.Mutex
	used  int64
	max   int64
	freed chan struct{} // signalled by release
}

func newByteBudget(max int64) byteBudget {
	return byteBudget{max: max, freed: make(chan struct{}, 1)}
}

// acquire takes n bytes, waiting for room; false if ctx ended first.
func (b *byteBudget) acquire(ctx context.Context, n int64) bool {
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return true
		}
		b.mu.Unlock()
		select {
		case <-b.freed:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives n bytes back.
func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	select {
	case b.freed <- struct{}{}:
	default:
	}
}

// inUse is the bytes held now.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
