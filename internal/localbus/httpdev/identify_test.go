package httpdev

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/testutil"
)

// identifyRig runs a tracker whose Identify reports each try on calls and
// answers with what answer says for that address and try.
type identifyRig struct {
	tr       *Tracker[struct{}]
	calls    chan string // the address of each try
	mu       sync.Mutex
	tries    map[string]int
	statuses []string
}

func newIdentifyRig(t *testing.T, retryMin, retryMax time.Duration, answer func(addr string, try int) error) *identifyRig {
	r := &identifyRig{calls: make(chan string, 100), tries: map[string]int{}}
	r.tr = New(Options[struct{}]{Vendor: "test", LogKey: "device", PollInterval: time.Hour,
		RetryMin: retryMin, RetryMax: retryMax,
		Identify: func(_ context.Context, inst mdns.Instance, addr string) error {
			r.mu.Lock()
			r.tries[addr]++
			try := r.tries[addr]
			r.mu.Unlock()
			r.calls <- addr
			if err := answer(addr, try); err != nil {
				return err
			}
			r.tr.Track(inst.Name, addr, nil)
			return nil
		},
		Status: func(_ mdns.Instance, status string) {
			r.mu.Lock()
			r.statuses = append(r.statuses, status)
			r.mu.Unlock()
		},
		Refresh: func(context.Context, *Unit[struct{}]) error { return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.tr.Run(ctx, func() {}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return r
}

// next waits for the next try and returns its address.
func (r *identifyRig) next(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case addr := <-r.calls:
		return addr
	case <-time.After(within):
		t.Fatalf("no identification try within %v", within)
		return ""
	}
}

// none checks that no try comes within d: d is many times RetryMax, so a
// tracker still retrying would have tried.
func (r *identifyRig) none(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case addr := <-r.calls:
		t.Errorf("%s: tried %s again", why, addr)
	case <-time.After(d):
	}
}

var errReset = errors.New("connection reset by peer")

func TestFailedIdentificationIsRetriedUntilItSucceeds(t *testing.T) {
	r := newIdentifyRig(t, time.Millisecond, 4*time.Millisecond, func(_ string, try int) error {
		if try < 4 {
			return errReset
		}
		return nil
	})
	inst := instance(1)
	r.tr.Found(inst)
	for range 4 {
		r.next(t, 5*time.Second)
	}
	testutil.Eventually(t, 5*time.Second, "tracked after the fourth try", func() bool {
		_, ok := r.tr.Lookup(inst.Name)
		return ok
	})
	r.none(t, 100*time.Millisecond, "after success")
	r.mu.Lock()
	defer r.mu.Unlock()
	want := []string{"error: " + errReset.Error(), "error: " + errReset.Error(), "error: " + errReset.Error(), "ok"}
	if strings.Join(r.statuses, "|") != strings.Join(want, "|") {
		t.Errorf("statuses %q, want %q", r.statuses, want)
	}
}

func TestRetryingStopsWhenTheInstanceIsGone(t *testing.T) {
	r := newIdentifyRig(t, time.Millisecond, 2*time.Millisecond, func(string, int) error { return errReset })
	inst := instance(2)
	r.tr.Found(inst)
	r.next(t, 5*time.Second)
	r.next(t, 5*time.Second)
	gone := inst
	gone.Gone = true
	r.tr.Found(gone)
	// A try already under way when the goodbye came may still finish.
	select {
	case <-r.calls:
	case <-time.After(50 * time.Millisecond):
	}
	r.none(t, 200*time.Millisecond, "after the goodbye")
	r.tr.mu.Lock()
	defer r.tr.mu.Unlock()
	if len(r.tr.probing) != 0 {
		t.Errorf("%d identifications still kept after the goodbye", len(r.tr.probing))
	}
}

func TestMovedInstanceIsRetriedAtItsNewAddressOnly(t *testing.T) {
	inst := instance(3)
	old := inst.Address()
	r := newIdentifyRig(t, time.Millisecond, 2*time.Millisecond, func(addr string, _ int) error {
		if addr == old {
			return errReset
		}
		return nil
	})
	r.tr.Found(inst)
	r.next(t, 5*time.Second)
	moved := inst
	moved.Addresses = []string{"10.9.9.9"}
	r.tr.Found(moved)
	testutil.Eventually(t, 5*time.Second, "tracked at the new address", func() bool {
		u, ok := r.tr.Lookup(inst.Name)
		return ok && u.Addr() == moved.Address()
	})
	// Drain what came before the move took effect, then nothing more.
	for len(r.calls) > 0 {
		<-r.calls
	}
	r.none(t, 200*time.Millisecond, "after the move")
}

// An appliance announcing itself again is a sign it may answer now: the
// try comes at once, not after the (here hour-long) wait.
func TestReannouncementCutsTheRetryWaitShort(t *testing.T) {
	r := newIdentifyRig(t, time.Hour, time.Hour, func(_ string, try int) error {
		if try == 1 {
			return errReset
		}
		return nil
	})
	inst := instance(4)
	r.tr.Found(inst)
	r.next(t, 5*time.Second)
	testutil.Eventually(t, 5*time.Second, "first try's status", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.statuses) == 1
	})
	r.tr.Found(inst)
	r.next(t, 5*time.Second)
	testutil.Eventually(t, 5*time.Second, "tracked after the announcement", func() bool {
		_, ok := r.tr.Lookup(inst.Name)
		return ok
	})
}
