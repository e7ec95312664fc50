package localbus

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// rig is a store, a hub and the MQTT client against a real broker, plus a
// separate paho client playing the appliances.
type rig struct {
	t      testing.TB
	broker *testutil.Mosquitto
	dir    string
	st     *store.Store
	hub    *hub.Hub
	mq     *MQTT
	stopMQ func()
	dev    paho.Client
	once   sync.Once
}

type rigOptions struct {
	commandTimeout time.Duration
	maxEntities    int
	writer         store.WriterOptions
	logger         *slog.Logger
	brokerDown     bool           // do not connect the appliances' client
	onHub          func(*hub.Hub) // called before the MQTT client is made
	grace          time.Duration  // MQTTOptions.UnconfirmedGrace
}

func newRig(t testing.TB, broker *testutil.Mosquitto, dir string, o rigOptions) *rig {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if o.commandTimeout == 0 {
		o.commandTimeout = 3 * time.Second
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(ctx, hub.Options{Store: st, CommandTimeout: o.commandTimeout, Writer: o.writer})
	if err != nil {
		t.Fatal(err)
	}
	if o.onHub != nil {
		o.onHub(h)
	}
	mq, err := NewMQTT(MQTTOptions{Hub: h, HubID: "testhub", Broker: broker.URL(), ClientID: "hubagent-test-" + filepath.Base(dir),
		MaxEntities: o.maxEntities, MaxReconnectInterval: time.Second, UnconfirmedGrace: o.grace, Logger: o.logger})
	if err != nil {
		t.Fatal(err)
	}
	stopMQ := startMQTT(t, mq)
	if o.logger != nil {
		t.Cleanup(func() {
			for _, d := range h.Devices() {
				t.Logf("device %s online=%v state=%v", d.ID, d.Online, d.State)
			}
			t.Logf("subs %v stats %+v", mq.subs.topics(), mq.Stats())
			t.Log(broker.Log())
		})
	}
	r := &rig{t: t, broker: broker, dir: dir, st: st, hub: h, mq: mq, stopMQ: stopMQ}
	if !o.brokerDown {
		r.dev = connectClient(t, broker, "appliances-"+filepath.Base(dir))
	}
	t.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	r.once.Do(func() {
		r.stopMQ()
		r.hub.Close()
		r.st.Close()
	})
}

// connectClient connects a plain paho client (clean session).
func connectClient(t testing.TB, b *testutil.Mosquitto, id string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// publish publishes as an appliance and waits for the broker to take it.
func (r *rig) publish(topic, payload string, retain bool) {
	r.t.Helper()
	tok := r.dev.Publish(topic, 1, retain, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		r.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// device returns the hub's copy of a device, or nil.
func (r *rig) device(id string) *device.Device {
	d, _ := r.hub.Device(id)
	return d
}

// hasState reports whether the device's state includes want.
func hasState(d *device.Device, want map[string]device.Value) bool {
	if d == nil {
		return false
	}
	for k, v := range want {
		if got, ok := d.State[k]; !ok || !got.Equal(v) || got.Kind() != v.Kind() {
			return false
		}
	}
	return true
}

// recorder is a subscriber that records what is published on a filter,
// to check the exact command payloads.
type recorder struct {
	mu   sync.Mutex
	msgs []string // "topic payload"
}

func record(t testing.TB, b *testutil.Mosquitto, filter string) *recorder {
	t.Helper()
	rec := &recorder{}
	c := connectClient(t, b, fmt.Sprintf("recorder-%d", time.Now().UnixNano()))
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		if m.Retained() {
			return
		}
		rec.mu.Lock()
		rec.msgs = append(rec.msgs, m.Topic()+" "+string(m.Payload()))
		rec.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return rec
}

func (rec *recorder) take() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.msgs
	rec.msgs = nil
	return out
}

func (rec *recorder) len() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.msgs)
}
