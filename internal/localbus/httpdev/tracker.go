// Package httpdev is the machinery the HTTP appliance drivers (WLED,
// Shelly) share: following the instances mDNS finds, identifying each new
// one once, and keeping one poller per appliance that follows it to a new
// address. What an appliance is and how to talk to it stays in the
// vendor's package, which supplies it as the Identify and Refresh
// functions.
package httpdev

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

// Options configure a Tracker. T is the vendor's data kept with each
// appliance (its HTTP client, its channels…).
type Options[T any] struct {
	// Vendor prefixes the log messages ("wled").
	Vendor string
	// LogKey is the log attribute that names an appliance ("device").
	LogKey       string
	PollInterval time.Duration
	Logger       *slog.Logger
	// Status, when set, is told what identifying an mDNS instance found
	// out ("ok", "error: ...") for the discovered list.
	Status func(inst mdns.Instance, status string)
	// Identify reads a new or moved instance at addr, registers its
	// devices with the hub and calls Track.
	Identify func(ctx context.Context, inst mdns.Instance, addr string) error
	// Refresh reads an appliance's state once and reports it to the hub
	// (online included); the poller calls it every PollInterval and when
	// poked. A failure is returned, not acted on: the poller decides when
	// the appliance is offline.
	Refresh func(ctx context.Context, u *Unit[T]) error
	// Offline marks the appliance's devices offline. The poller calls it
	// when a reachable appliance failed two polls ConfirmAfter apart.
	Offline func(u *Unit[T])
	// ConfirmAfter is how soon a failed poll of a reachable appliance is
	// tried again before the appliance is marked offline (default
	// DefaultConfirmAfter).
	ConfirmAfter time.Duration
	// Classify, when set, names the status of the Identify errors the
	// vendor knows (such as a missing password) and the warning to log
	// instead of "device not usable"; ok is false for any other error.
	Classify func(err error) (status, warning string, ok bool)
	// RetryMin and RetryMax bound the wait before a failed identification
	// is tried again: RetryMin first (default DefaultRetryMin), doubling up
	// to RetryMax (default DefaultRetryMax), until it succeeds or the
	// instance is gone or moves.
	RetryMin, RetryMax time.Duration
}

// Defaults of Options. An appliance that did not answer when it was
// announced (busy, rebooting, a connection reset) announces itself again
// only when its records change or it restarts, so the tracker keeps trying
// instead of waiting for that: soon at first, then at most every 5 min,
// one HTTP exchange per try.
//
// One lost request is not taken for a device gone: appliances on Wi-Fi
// miss an answer now and then, and marking them offline and online again a
// poll later would push both changes to every partner.
const (
	DefaultRetryMin     = 2 * time.Second
	DefaultRetryMax     = 5 * time.Minute
	DefaultConfirmAfter = time.Second
)

// Tracker follows the appliances of one vendor. Every goroutine it runs
// (an identification, a poller) is started by Run, under Run's context and
// counted before Run waits: Found and Track only leave the work for it.
// Instances found before Run wait for it; those found after it returned
// are dropped.
type Tracker[T any] struct {
	opts Options[T]
	log  *slog.Logger
	wake chan struct{} // Found or Track left work for Run

	mu       sync.Mutex
	state    runState
	queued   []mdns.Instance // found before Run
	probes   []*probe        // instances for Run to identify
	newUnits []*Unit[T]      // appliances for Run to start polling
	units    map[string]*Unit[T]
	probing  map[string]*probe // by probe key: identifications running or waiting to retry
}

// runState is where a Tracker is in its one Run.
type runState int

const (
	notRunning runState = iota
	running
	stopped
)

// probe is an instance being identified at addr, until that succeeds or
// the instance is gone or moves. inst is the latest announcement (guarded
// by the tracker's lock).
type probe struct {
	inst      mdns.Instance
	addr, key string
	again     chan struct{} // announced again while waiting to retry: try now
	stop      chan struct{} // closed when the instance is gone or moved
}

// New builds a tracker; the driver feeds it with Found and runs it with Run.
func New[T any](opts Options[T]) *Tracker[T] {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = DefaultRetryMin
	}
	if opts.ConfirmAfter <= 0 {
		opts.ConfirmAfter = DefaultConfirmAfter
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(DefaultRetryMax, opts.RetryMin)
	}
	return &Tracker[T]{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		units: map[string]*Unit[T]{}, probing: map[string]*probe{}}
}

// Run calls restore, which tracks the appliances already in the hub at
// their last known address, identifies the instances found so far and
// since, and polls every tracked appliance until ctx ends; it returns once
// every poller and identification has stopped.
func (t *Tracker[T]) Run(ctx context.Context, restore func()) error {
	t.mu.Lock()
	t.state = running
	queued := t.queued
	t.queued = nil
	t.mu.Unlock()
	restore()
	for _, inst := range queued {
		t.Found(inst)
	}
	var wg sync.WaitGroup
	for {
		t.startWork(ctx, &wg)
		select {
		case <-ctx.Done():
			t.mu.Lock()
			t.state = stopped
			t.mu.Unlock()
			wg.Wait()
			return nil
		case <-t.wake:
		}
	}
}

// startWork starts the identifications and pollers Found and Track left.
func (t *Tracker[T]) startWork(ctx context.Context, wg *sync.WaitGroup) {
	t.mu.Lock()
	probes, units := t.probes, t.newUnits
	t.probes, t.newUnits = nil, nil
	t.mu.Unlock()
	for _, p := range probes {
		wg.Go(func() { t.identify(ctx, p) })
	}
	for _, u := range units {
		wg.Go(func() { t.poll(ctx, u) })
	}
}

// signal wakes Run.
func (t *Tracker[T]) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Found is the mDNS watcher: a new or moved instance is identified (once
// at a time per instance and address, retried until it succeeds); a gone
// one stops its identification and makes the pollers at its address, or
// all of them when the address is unknown, poll at once, so that an
// appliance that really left turns offline without waiting.
func (t *Tracker[T]) Found(inst mdns.Instance) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state {
	case notRunning:
		t.queued = append(t.queued, inst)
		return
	case stopped:
		return
	}
	addr := inst.Address()
	if inst.Gone || addr == "" {
		if inst.Gone {
			t.stopProbes(inst.Key(), "")
		}
		for _, u := range t.units {
			if addr == "" || u.Addr() == addr {
				u.Poke()
			}
		}
		return
	}
	key := inst.Key() + "@" + addr
	if p, ok := t.probing[key]; ok {
		p.inst = inst
		select { // a retry waiting: the appliance may answer now
		case p.again <- struct{}{}:
		default:
		}
		return
	}
	t.stopProbes(inst.Key(), key) // it moved: stop trying the old address
	p := &probe{inst: inst, addr: addr, key: key, again: make(chan struct{}, 1), stop: make(chan struct{})}
	t.probing[key] = p
	t.probes = append(t.probes, p)
	t.signal()
}

// stopProbes stops identifying instance instKey at any address but the
// one of probe key keep. The caller holds t.mu.
func (t *Tracker[T]) stopProbes(instKey, keep string) {
	for k, p := range t.probing {
		if k != keep && p.inst.Key() == instKey {
			close(p.stop)
			delete(t.probing, k)
		}
	}
}

// Track follows appliance id at addr (Run starts its poller), or points a
// known one at a new address. update, when set, gets the appliance's data
// (the zero T for a new one) and returns what to keep; it must not change
// what it was given, since pollers may be reading it. Track is called from
// Identify or Run's restore.
func (t *Tracker[T]) Track(id, addr string, update func(T) T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.units[id]
	if !ok {
		u = &Unit[T]{ID: id, addr: addr, pokes: make(chan struct{}, 1)}
		t.units[id] = u
		t.newUnits = append(t.newUnits, u)
		t.signal()
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.addr != addr {
		t.log.Info(t.opts.Vendor+": device moved", t.opts.LogKey, id, "from", u.addr, "to", addr)
		u.addr = addr
	}
	if update != nil {
		u.data = update(u.data)
	}
}

// Lookup returns the tracked appliance id.
func (t *Tracker[T]) Lookup(id string) (*Unit[T], bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.units[id]
	return u, ok
}
