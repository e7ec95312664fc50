package hub

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// EventType says what changed.
type EventType uint8

// The kinds of event the hub emits.
const (
	StateChanged  EventType = iota + 1 // State holds the changed properties
	OnlineChanged                      // Online holds the new flag
	DeviceAdded                        // Device holds the new device
	DeviceUpdated                      // Device holds the new description
	DeviceRemoved                      // Device holds the last description
)

func (t EventType) String() string {
	switch t {
	case StateChanged:
		return "StateChanged"
	case OnlineChanged:
		return "OnlineChanged"
	case DeviceAdded:
		return "DeviceAdded"
	case DeviceUpdated:
		return "DeviceUpdated"
	case DeviceRemoved:
		return "DeviceRemoved"
	}
	return "unknown"
}

// Event is one change the hub observed. Events are values shared between
// consumers: do not modify State or Device.
type Event struct {
	Seq      uint64
	Type     EventType
	DeviceID string
	State    map[string]device.Value
	Online   bool
	Device   *device.Device
	At       time.Time
}

// Subscription is one consumer's view of the event stream. Each has its own
// bounded buffer: a consumer that falls behind loses events (counted in
// Dropped) instead of stalling ingest for everybody.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	types   uint32 // bit per EventType wanted; 0 = all
	dropped atomic.Uint64
	b       *broadcaster
}

// Dropped is how many events this consumer missed because its buffer was
// full. A consumer that sees it grow should resynchronise from the registry.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C.
func (s *Subscription) Close() { s.b.remove(s) }

type broadcaster struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
	seq  atomic.Uint64
	// wanted has a bit per EventType some consumer takes, so that a
	// producer can skip building events nobody reads (state changes are
	// the bulk; today no consumer takes them).
	wanted atomic.Uint32
}

// allEvents is the wanted mask of a consumer of every type.
const allEvents = ^uint32(0)

// wants reports whether some consumer takes events of type t.
func (b *broadcaster) wants(t EventType) bool { return b.wanted.Load()&(1<<t) != 0 }

// refreshWanted recomputes wanted; b.mu is held for writing.
func (b *broadcaster) refreshWanted() {
	var m uint32
	for s := range b.subs {
		if s.types == 0 {
			m = allEvents
			break
		}
		m |= s.types
	}
	b.wanted.Store(m)
}

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[*Subscription]struct{}{}}
}

func (b *broadcaster) subscribe(buffer int, types []EventType) *Subscription {
	if buffer <= 0 {
		buffer = 256
	}
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, b: b}
	for _, t := range types {
		s.types |= 1 << t
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.refreshWanted()
	b.mu.Unlock()
	return s
}

func (b *broadcaster) remove(s *Subscription) {
	b.mu.Lock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.c)
		b.refreshWanted()
	}
	b.mu.Unlock()
}

// publish never blocks: a full consumer buffer drops the event for that
// consumer alone.
func (b *broadcaster) publish(e Event) {
	e.Seq = b.seq.Add(1)
	b.mu.RLock()
	for s := range b.subs {
		if s.types != 0 && s.types&(1<<e.Type) == 0 {
			continue // not wanted: no wake-up of a consumer that would drop it
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
	b.mu.RUnlock()
}

func (b *broadcaster) closeAll() {
	b.mu.Lock()
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
	b.wanted.Store(0)
	b.mu.Unlock()
}
