package httpdev

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

func instance(i int) mdns.Instance {
	return mdns.Instance{Name: fmt.Sprintf("dev%d", i), Service: "_test._tcp", Port: 80,
		Addresses: []string{fmt.Sprintf("10.0.%d.%d", i>>8, i&0xff)}}
}

// Found may be called from the browser's goroutine at any time, also while
// Run is ending: every identification and poller is started and waited for
// by Run, so none runs after Run returned (the race detector checks the
// bookkeeping), and instances found before Run are identified once it
// starts.
func TestFoundRacingRunsEndNeverOutlivesRun(t *testing.T) {
	var identified, afterRun atomic.Int64
	var returned atomic.Bool
	first := make(chan struct{})
	var once sync.Once
	var tr *Tracker[struct{}]
	tr = New(Options[struct{}]{Vendor: "test", LogKey: "device", PollInterval: time.Hour,
		Identify: func(_ context.Context, inst mdns.Instance, addr string) error {
			if returned.Load() {
				afterRun.Add(1)
			}
			identified.Add(1)
			once.Do(func() { close(first) })
			tr.Track(inst.Name, addr, nil)
			return nil
		},
		Refresh: func(context.Context, *Unit[struct{}]) error { return nil }})
	tr.Found(instance(0)) // before Run: queued

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := tr.Run(ctx, func() {})
		returned.Store(true)
		done <- err
	}()
	var feeders sync.WaitGroup
	for f := range 4 {
		feeders.Go(func() {
			for i := 1; i <= 200; i++ {
				tr.Found(instance(f*1000 + i))
			}
		})
	}
	<-first
	cancel()
	feeders.Wait()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	tr.Found(instance(9999)) // after Run: dropped
	if n := afterRun.Load(); n != 0 {
		t.Errorf("%d identifications ran after Run returned", n)
	}
	// dev0 was queued before Run, so Run started its identification
	// first and waited for it.
	if _, ok := tr.Lookup("dev0"); !ok {
		t.Error("the instance found before Run was not identified")
	}
}
