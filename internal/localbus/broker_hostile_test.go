package localbus

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// newEmbeddedRig starts the embedded broker with limits, a hub, and the
// agent's MQTT client on it (subscribed in-process, as the agent runs it).
func newEmbeddedRig(t *testing.T, lim BrokerLimits, o MQTTOptions) (*Broker, *hub.Hub, *MQTT) {
	t.Helper()
	br, err := StartBroker(BrokerOptions{Listen: testutil.FreeAddr(t), Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	o.Hub, o.HubID, o.Broker, o.EmbeddedBroker, o.Local = h, "embedded", br.URL(), true, br
	mq, err := NewMQTT(o)
	if err != nil {
		t.Fatal(err)
	}
	return br, h, mq
}

func pahoClient(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// handedOn returns once the broker has handed every publish c made before
// to its subscribers. The broker acknowledges a QoS 1 publish before it
// does that, so Wait alone leaves the last one on its way; it takes a
// client's packets in order, so the acknowledgement of one more publish
// says the earlier ones are through.
func handedOn(t *testing.T, c paho.Client) {
	t.Helper()
	if tok := c.Publish("test/handed-on", 1, false, ""); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("handed-on publish: %v", tok.Error())
	}
}

// The broker hands a subscribing client its retained messages all at
// once and drops those past the client's pending writes; the agent takes
// them in-process, so a small pending-writes limit loses no device, while
// an ordinary client subscribing over TCP gets only what fits.
func TestEmbeddedBrokerReplayLosesNothingPastPendingWrites(t *testing.T) {
	br, h, mq := newEmbeddedRig(t, BrokerLimits{MaxPendingWrites: 32}, MQTTOptions{})
	pub := pahoClient(t, br.URL(), "appliances")
	const n = 600
	for i := range n {
		cfg := fmt.Sprintf(`{"name":"S%d","state_topic":"rp/%d","device":{"identifiers":["rp%d"]}}`, i, i, i)
		pub.Publish(fmt.Sprintf("homeassistant/sensor/rp%d/config", i), 1, true, cfg).Wait()
		pub.Publish(fmt.Sprintf("rp/%d", i), 1, true, fmt.Sprint(i)).Wait()
	}
	startMQTT(t, mq)
	testutil.Eventually(t, 20*time.Second, "every device with its state", func() bool {
		ds := h.Devices()
		if len(ds) < n {
			return false
		}
		for _, d := range ds {
			if len(d.State) == 0 {
				return false
			}
		}
		return true
	})
	slow := pahoClient(t, br.URL(), "tcp-subscriber")
	var got atomic.Int64
	slow.Subscribe("homeassistant/#", 0, func(paho.Client, paho.Message) { got.Add(1) }).Wait()
	testutil.Eventually(t, 5*time.Second, "the broker dropping past the pending-writes limit", func() bool { return br.Stats().MessagesDropped > 0 })
	if got.Load() >= n {
		t.Errorf("the TCP subscriber got %d of %d retained configs past a pending-writes limit of 32", got.Load(), n)
	}
}

func TestEmbeddedBrokerBoundsRetainedMessages(t *testing.T) {
	const maxN, maxBytes = 20, 4096
	br, _, _ := newEmbeddedRig(t, BrokerLimits{MaxRetained: maxN, MaxRetainedBytes: maxBytes}, MQTTOptions{})
	pub := pahoClient(t, br.URL(), "flooder")
	var mu sync.Mutex
	live := map[string]bool{} // topics; the broker may repeat one (retained) when a subscription races a publish
	sub := pahoClient(t, br.URL(), "listener")
	sub.Subscribe("flood/#", 0, func(_ paho.Client, m paho.Message) { mu.Lock(); live[m.Topic()] = true; mu.Unlock() }).Wait()
	for i := range 50 {
		pub.Publish(fmt.Sprintf("flood/%d", i), 1, true, "x").Wait()
	}
	testutil.Eventually(t, 5*time.Second, "live delivery of every message, retained or not", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(live) == 50
	})
	st := br.Stats()
	if st.Retained != maxN || st.RetainRefused != 30 {
		t.Errorf("retained %d refused %d, want %d and 30", st.Retained, st.RetainRefused, maxN)
	}
	// A topic already retained may be updated at the count limit.
	pub.Publish("flood/0", 1, true, "y").Wait()
	// Bytes: one large message does not fit; the earlier value stays.
	pub.Publish("flood/1", 1, true, strings.Repeat("z", maxBytes)).Wait()
	// Clearing a retained message makes room.
	pub.Publish("flood/2", 1, true, "").Wait()
	pub.Publish("flood/new", 1, true, "n").Wait()
	got := map[string]string{}
	if err := br.Subscribe("flood/#", func(topic string, payload []byte) { mu.Lock(); got[topic] = string(payload); mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got["flood/0"] != "y" || got["flood/1"] != "x" || got["flood/new"] != "n" || len(got) != maxN {
		t.Errorf("retained after updates: %d topics, flood/0=%q flood/1=%q flood/new=%q", len(got), got["flood/0"], got["flood/1"], got["flood/new"])
	}
	if st := br.Stats(); st.RetainedBytes > maxBytes {
		t.Errorf("retained bytes %d over %d", st.RetainedBytes, maxBytes)
	}
}

// Beyond loopback the broker refuses to start without credentials (the
// check comes before anything listens); with credentials, a client
// without them is refused.
func TestEmbeddedBrokerRefusesAnonymousClients(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:1883"} {
		if br, err := StartBroker(BrokerOptions{Listen: addr}); !errors.Is(err, ErrAnonymousBeyondLoopback) {
			if br != nil {
				br.Close()
			}
			t.Errorf("StartBroker(%s) without credentials: %v, want ErrAnonymousBeyondLoopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		if !isLoopback(addr) {
			t.Errorf("%s not taken for loopback", addr)
		}
	}
	br, err := StartBroker(BrokerOptions{Listen: testutil.FreeAddr(t), Username: "hub", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	anon := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("anon"))
	if tok := anon.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		anon.Disconnect(50)
		t.Error("an anonymous client was accepted by a broker with a username")
	}
	good := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("good").SetUsername("hub").SetPassword("s3cret"))
	if tok := good.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("a client with the credentials was refused: %v", tok.Error())
	}
	good.Disconnect(50)
}

// Disconnected persistent sessions are not bounded by max_clients: the
// broker remembers at most twice as many sessions as clients, and queues at
// most offlineMaxMessages (and offlineMaxBytes) for each while it is away.
func TestEmbeddedBrokerBoundsRememberedSessions(t *testing.T) {
	br, err := StartBroker(BrokerOptions{Listen: testutil.FreeAddr(t), Limits: BrokerLimits{MaxClients: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	persistent := func(id string, onMsg paho.MessageHandler) (paho.Client, error) {
		o := paho.NewClientOptions().AddBroker(br.URL()).SetClientID(id).SetCleanSession(false).SetAutoReconnect(false)
		if onMsg != nil {
			o.SetDefaultPublishHandler(onMsg)
		}
		c := paho.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			return nil, errors.New("connect timed out")
		}
		return c, tok.Error()
	}
	pub := pahoClient(t, br.URL(), "publisher") // clean session: forgotten when it leaves
	for i := range 5 {
		c, err := persistent(fmt.Sprintf("away-%d", i), nil)
		if err != nil {
			t.Fatalf("session %d of 5 besides the publisher: %v", i+1, err)
		}
		c.Subscribe("off/#", 1, nil).Wait()
		c.Disconnect(50)
	}
	if c, err := persistent("a-seventh-one", nil); err == nil {
		c.Disconnect(50)
		t.Fatal("a seventh session was accepted with max_clients = 3 (six sessions)")
	}
	if br.Stats().SessionsRefused == 0 {
		t.Error("the refused session was not counted")
	}

	// Publish only once the broker has closed every away session: a message
	// delivered while a session is still closing is kept as in-flight beside
	// the away budget (bounded by the in-flight limit), one more than 100.
	testutil.Eventually(t, 5*time.Second, "the away sessions closed", func() bool {
		for i := range 5 {
			if cl, ok := br.srv.Clients.Get(fmt.Sprintf("away-%d", i)); !ok || !cl.Closed() {
				return false
			}
		}
		return true
	})
	payload := strings.Repeat("p", 4<<10)
	const n = 300
	for i := range n {
		pub.Publish(fmt.Sprintf("off/%d", i), 1, false, payload).Wait()
	}
	// The broker acknowledges a publish before handing it to subscribers,
	// and handles one client's packets in order: once this one is
	// acknowledged, the last off/ message has reached every session. Without
	// it off/299 could meet away-0 already back, as a live message.
	pub.Publish("fence", 1, false, "").Wait()
	if br.Stats().OfflineDropped == 0 {
		t.Fatal("nothing dropped for sessions that are away")
	}
	// The first session comes back and gets what was kept for it. Kept
	// messages are counted by topic: a message redelivered (DUP) because
	// its acknowledgement was slow is the same message.
	var mu sync.Mutex
	got := map[string]int{}
	kept := func() (distinct, deliveries int) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range got {
			distinct, deliveries = distinct+1, deliveries+n
		}
		return distinct, deliveries
	}
	back, err := persistent("away-0", func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got[m.Topic()]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("a remembered session could not come back: %v", err)
	}
	defer back.Disconnect(50)
	testutil.Eventually(t, 5*time.Second, "the kept messages", func() bool { d, _ := kept(); return d >= offlineMaxMessages })
	time.Sleep(200 * time.Millisecond) // anything more would arrive now
	if d, n := kept(); d > offlineMaxMessages {
		t.Errorf("%d messages (%d deliveries) kept for a session that was away, want at most %d", d, n, offlineMaxMessages)
	}
}
