package httpdev

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/testutil"
)

// pollRig runs a tracker with one appliance whose polls answer with what
// fail says, polled only when poked (the interval is an hour).
type pollRig struct {
	mu       sync.Mutex
	fail     bool
	polls    int
	offlines int
	u        *Unit[struct{}]
}

func newPollRig(t *testing.T) *pollRig {
	r := &pollRig{}
	tr := New(Options[struct{}]{Vendor: "test", LogKey: "device", PollInterval: time.Hour, ConfirmAfter: 20 * time.Millisecond,
		Identify: func(context.Context, mdns.Instance, string) error { return nil },
		Refresh: func(context.Context, *Unit[struct{}]) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.polls++
			if r.fail {
				return errors.New("i/o timeout")
			}
			return nil
		},
		Offline: func(*Unit[struct{}]) {
			r.mu.Lock()
			r.offlines++
			r.mu.Unlock()
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	tr.Track("lamp", "10.0.0.9:80", nil) // its poller starts with Run
	r.u, _ = tr.Lookup("lamp")
	go func() { done <- tr.Run(ctx, func() {}) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *pollRig) set(fail bool) { r.mu.Lock(); r.fail = fail; r.mu.Unlock() }

func (r *pollRig) counts() (polls, offlines int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.polls, r.offlines
}

// waitPolls pokes until the appliance has been polled n times in all.
func (r *pollRig) waitPolls(t *testing.T, n int) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, "polls", func() bool {
		p, _ := r.counts()
		if p < n {
			r.u.Poke()
		}
		return p >= n
	})
}

func TestOneFailedPollIsConfirmedBeforeTheApplianceIsOffline(t *testing.T) {
	r := newPollRig(t)
	r.set(true)
	r.waitPolls(t, 1)
	r.set(false) // the confirmation, ConfirmAfter later, gets an answer
	testutil.Eventually(t, 5*time.Second, "the confirming poll", func() bool { p, _ := r.counts(); return p >= 2 })
	if _, off := r.counts(); off != 0 {
		t.Errorf("marked offline %d times after one lost answer", off)
	}

	r.set(true) // now it is gone: the confirming poll fails too
	r.u.Poke()
	testutil.Eventually(t, 5*time.Second, "offline after two failed polls", func() bool { _, off := r.counts(); return off == 1 })
	p, _ := r.counts()
	r.waitPolls(t, p+3) // still failing: no second Offline
	if _, off := r.counts(); off != 1 {
		t.Errorf("Offline called %d times for one departure", off)
	}

	r.set(false) // back, then gone again: offline again
	p, _ = r.counts()
	r.waitPolls(t, p+1)
	r.set(true)
	r.u.Poke()
	testutil.Eventually(t, 5*time.Second, "offline again after its return", func() bool { _, off := r.counts(); return off == 2 })
}
