package mdnstest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// Hub returns a real hub over a store in the test's temp directory.
func Hub(t testing.TB) *hub.Hub {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(ctx, hub.Options{Store: s, CommandTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); s.Close() })
	return h
}

// Browser makes a browser on the host side of the link; setup (Watch,
// OnBroker) runs before it starts. It stops at the end of the test.
func (n *Net) Browser(services []string, setup func(*mdns.Browser)) *mdns.Browser {
	n.t.Helper()
	b, err := mdns.New(mdns.Options{Interfaces: []string{n.HostIf}, Services: services})
	if err != nil {
		n.t.Fatal(err)
	}
	if setup != nil {
		setup(b)
	}
	Go(n.t, b.Run)
	return b
}

// Go runs fn until the end of the test, then cancels it and waits.
func Go(t testing.TB, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stopped with: %v", err)
		}
	})
}

// WaitDevice waits until the hub has the device and ok accepts it.
func WaitDevice(t testing.TB, h *hub.Hub, id string, d time.Duration, what string, ok func(*device.Device) bool) *device.Device {
	t.Helper()
	var dev *device.Device
	if !testutil.Poll(d, func() bool {
		var found bool
		dev, found = h.Device(id)
		return found && ok(dev)
	}) {
		t.Fatalf("timed out waiting for %s of %s; device: %+v", what, id, dev)
	}
	return dev
}
