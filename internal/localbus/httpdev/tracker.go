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

// Tracker follows the appliances of one vendor. Instances found before Run
// wait for it, since identifying needs Run's context.
type Tracker[T any] struct {
	opts Options[T]
	log  *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // set by Run; nil before
	queued  []mdns.Instance // found before Run
	units   map[string]*Unit[T]
	probing map[string]bool // instance keys being identified
	wg      sync.WaitGroup
}

// New builds a tracker; the driver feeds it with Found and runs it with Run.
func New[T any](opts Options[T]) *Tracker[T] {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tracker[T]{opts: opts, log: opts.Logger, units: map[string]*Unit[T]{}, probing: map[string]bool{}}
}

// Run calls restore, which tracks the appliances already in the hub at
// their last known address, identifies the instances found so far, and
// then waits until ctx ends and every poller and probe has stopped.
func (t *Tracker[T]) Run(ctx context.Context, restore func()) error {
	t.mu.Lock()
	t.ctx = ctx
	queued := t.queued
	t.queued = nil
	t.mu.Unlock()
	restore()
	for _, inst := range queued {
		t.Found(inst)
	}
	<-ctx.Done()
	t.wg.Wait()
	return nil
}

// Found is the mDNS watcher: a new or moved instance is identified (once
// at a time per instance and address); a gone one makes the pollers at its
// address, or all of them when the address is unknown, poll at once, so
// that an appliance that really left turns offline without waiting.
func (t *Tracker[T]) Found(inst mdns.Instance) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil {
		t.queued = append(t.queued, inst)
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
	ctx := t.ctx
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		err := t.opts.Identify(ctx, inst, addr)
		t.mu.Lock()
		delete(t.probing, key)
		t.mu.Unlock()
		status := "ok"
		if err != nil {
			status = t.judge(inst, addr, err)
		}
		if t.opts.Status != nil {
			t.opts.Status(inst, status)
		}
	}()
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

// Track starts the poller of appliance id at addr, or points a known one
// at a new address. update, when set, gets the appliance's data (the zero
// T for a new one) and returns what to keep; it must not change what it
// was given, since pollers may be reading it. Track must be called from
// Identify or Run's restore, once Run has started.
func (t *Tracker[T]) Track(id, addr string, update func(T) T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.units[id]
	if !ok {
		u = &Unit[T]{ID: id, addr: addr, pokes: make(chan struct{}, 1)}
		t.units[id] = u
		ctx := t.ctx
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.poll(ctx, u)
		}()
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
