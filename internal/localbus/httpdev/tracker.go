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
	// Refresh reads an appliance's state once and reports it to the hub;
	// the poller calls it every PollInterval and when poked.
	Refresh func(ctx context.Context, u *Unit[T]) error
	// Classify, when set, names the status of the Identify errors the
	// vendor knows (such as a missing password) and the warning to log
	// instead of "device not usable"; ok is false for any other error.
	Classify func(err error) (status, warning string, ok bool)
}

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
	probes   []probe         // instances for Run to identify
	newUnits []*Unit[T]      // appliances for Run to start polling
	units    map[string]*Unit[T]
	probing  map[string]bool // instance keys being identified
}

// runState is where a Tracker is in its one Run.
type runState int

const (
	notRunning runState = iota
	running
	stopped
)

// probe is an instance waiting to be identified at addr.
type probe struct {
	inst      mdns.Instance
	addr, key string
}

// New builds a tracker; the driver feeds it with Found and runs it with Run.
func New[T any](opts Options[T]) *Tracker[T] {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tracker[T]{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		units: map[string]*Unit[T]{}, probing: map[string]bool{}}
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
// at a time per instance and address); a gone one makes the pollers at its
// address, or all of them when the address is unknown, poll at once, so
// that an appliance that really left turns offline without waiting.
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
		for _, u := range t.units {
			if addr == "" || u.Addr() == addr {
				u.poke()
			}
		}
		return
	}
	key := inst.Key() + "@" + addr
	if t.probing[key] {
		return
	}
	t.probing[key] = true
	t.probes = append(t.probes, probe{inst: inst, addr: addr, key: key})
	t.signal()
}

// identify runs the vendor's Identify on one instance and reports how it
// went.
func (t *Tracker[T]) identify(ctx context.Context, p probe) {
	err := t.opts.Identify(ctx, p.inst, p.addr)
	t.mu.Lock()
	delete(t.probing, p.key)
	t.mu.Unlock()
	status := "ok"
	if err != nil {
		status = t.judge(p.inst, p.addr, err)
	}
	if t.opts.Status != nil {
		t.opts.Status(p.inst, status)
	}
}

// judge logs why an instance could not be identified and returns its
// status.
func (t *Tracker[T]) judge(inst mdns.Instance, addr string, err error) string {
	if t.opts.Classify != nil {
		if status, warning, ok := t.opts.Classify(err); ok {
			t.log.Warn(warning, "instance", inst.Name, "addr", addr)
			return status
		}
	}
	t.log.Warn(t.opts.Vendor+": device not usable", "instance", inst.Name, "addr", addr, "err", err)
	return "error: " + err.Error()
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
