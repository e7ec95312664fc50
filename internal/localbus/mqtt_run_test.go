package localbus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

// startMQTT registers m with its hub and runs it, as the agent's Drivers
// do, until the returned stop is called or
// the test ends; stop returns once Run has returned and fails the test on
// a Run error.
func startMQTT(t testing.TB, m *MQTT) (stop func()) {
	t.Helper()
	m.hub.RegisterDriver(m.Source(), m)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("MQTT Run: %v", err)
		}
	})
	t.Cleanup(stop)
	return stop
}

// Run is the client's whole life: it returns when its context ends, a
// second Run is refused, and SetBroker after the end neither blocks nor
// reconnects.
func TestMQTTRunEndsWithItsContextAndRunsOnce(t *testing.T) {
	br, _, mq := newEmbeddedRig(t, BrokerLimits{}, MQTTOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- mq.Run(ctx) }()
	testutil.Eventually(t, 10*time.Second, "connected to the embedded broker", func() bool { return mq.Stats().Connected })
	if err := mq.Run(ctx); err == nil {
		t.Error("a second Run was accepted")
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run = %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if mq.Stats().Connected {
		t.Error("still connected after Run returned")
	}
	if err := mq.SetBroker(br.URL() + "0"); err != nil {
		t.Errorf("SetBroker after Run returned: %v", err)
	}
	if mq.Broker() != br.URL() {
		t.Errorf("Broker() = %s after a SetBroker once stopped, want %s", mq.Broker(), br.URL())
	}
}
