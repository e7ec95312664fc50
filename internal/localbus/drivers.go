package localbus

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

// Driver is a local-bus driver: it owns the devices of one source, takes
// the hub's commands for them (hub.Driver) and runs until its context
// ends. The MQTT client is one; the HTTP appliance drivers (wled, shelly)
// are MDNSDrivers.
type Driver interface {
	hub.Driver
	// Source is the device.Device Source of the driver's devices ("wled").
	Source() string
	// Run works until ctx ends. An error is one the driver cannot
	// recover from: it stops the agent.
	Run(ctx context.Context) error
}

// MDNSDriver is a Driver that finds its appliances by mDNS.
type MDNSDriver interface {
	Driver
	// Services are the service types browsed for ("_wled._tcp").
	Services() []string
	// Found is told of every found, moved or gone instance of those
	// services; it must not block.
	Found(inst mdns.Instance)
}

// Watcher browses for service types (mdns.Browser).
type Watcher interface {
	Watch(service string, fn func(mdns.Instance))
}

// Drivers is the registry of the local-bus drivers an agent runs: Register
// is all a new driver needs.
type Drivers struct {
	hub *hub.Hub

	mu   sync.Mutex
	list []Driver
}

// NewDrivers makes an empty registry whose drivers serve h.
func NewDrivers(h *hub.Hub) *Drivers { return &Drivers{hub: h} }

// Register adds d: the hub sends it the commands for its source's devices
// from now on (devices stored earlier are commanded at their last
// address even before any browsing), Watch browses for its services and
// Run runs it. Register before Watch and Run; a second driver for the same
// source is refused.
func (r *Drivers) Register(d Driver) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.list {
		if o.Source() == d.Source() {
			return fmt.Errorf("localbus: a driver for source %q is already registered", d.Source())
		}
	}
	r.list = append(r.list, d)
	r.hub.RegisterDriver(d.Source(), d)
	return nil
}

// Watch hands w the services of every registered MDNSDriver, with the
// driver's Found as the watcher.
func (r *Drivers) Watch(w Watcher) {
	for _, d := range r.drivers() {
		if md, ok := d.(MDNSDriver); ok {
			for _, svc := range md.Services() {
				w.Watch(svc, md.Found)
			}
		}
	}
}

// Run runs every registered driver until ctx ends. The first driver error
// ends the others and is returned.
func (r *Drivers) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, d := range r.drivers() {
		g.Go(func() error {
			if err := d.Run(ctx); err != nil {
				return fmt.Errorf("localbus: driver %s: %w", d.Source(), err)
			}
			return nil
		})
	}
	return g.Wait()
}

func (r *Drivers) drivers() []Driver {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Driver(nil), r.list...)
}
