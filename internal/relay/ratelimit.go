package relay

import (
	"sync"
	"time"
)

// limiter is a token bucket per client address plus one for all clients,
// so neither one installer's script nor a crowd can flood the registry.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	global  bucket
	gRate   float64
	gBurst  float64
	clients map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxClients bounds the limiter's memory; past it the table starts over
// (every client gets a full bucket again, which only loosens the limit).
const maxClients = 10000

func newLimiter(perClient, clientBurst, global, globalBurst float64) *limiter {
	return &limiter{rate: perClient, burst: clientBurst, gRate: global, gBurst: globalBurst,
		global: bucket{tokens: globalBurst}, clients: map[string]*bucket{}}
}

func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * rate
	}
	if b.tokens > burst {
		b.tokens = burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// allow says whether client may make a request at now.
func (l *limiter) allow(client string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[client]
	if c == nil {
		if len(l.clients) >= maxClients {
			l.clients = map[string]*bucket{}
		}
		c = &bucket{tokens: l.burst}
		l.clients[client] = c
	}
	if !c.take(now, l.rate, l.burst) {
		return false
	}
	return l.global.take(now, l.gRate, l.gBurst)
}
