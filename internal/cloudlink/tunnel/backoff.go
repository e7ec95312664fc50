package tunnel

import (
	"math/rand/v2"
	"time"
)

// backoff is the capped exponential delay between connection attempts.
// Each failure doubles the delay up to max; the wait is drawn from
// [d/2, d] ("equal jitter") so hubs that lost the same relay at the same
// moment do not all come back in the same second, while the waits still
// grow monotonically.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func newBackoff(minDelay, maxDelay time.Duration) *backoff {
	if maxDelay < minDelay {
		maxDelay = minDelay
	}
	return &backoff{min: minDelay, max: maxDelay, cur: minDelay}
}

// next returns the wait before the next attempt and grows the delay.
func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// reset goes back to the shortest delay, after a session that held.
func (b *backoff) reset() { b.cur = b.min }
