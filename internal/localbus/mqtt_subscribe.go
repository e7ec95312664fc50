package localbus

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// subscriber keeps the broker's subscriptions in line with the topics the
// tracked entities need. Message handlers only record what they want; one
// goroutine talks to the broker, in batches, so a handler never waits on
// the network (paho delivers messages in order on one goroutine: waiting
// there for a SUBACK would stall every message behind it).
type subscriber struct {
	m    *MQTT
	wake chan struct{}

	mu      sync.Mutex
	want    map[string]byte // every topic we should be subscribed to, with its QoS
	pending map[string]bool // topic → subscribe (true) or unsubscribe (false)
}

// subscribeBatch is how many topics go into one SUBSCRIBE packet.
const subscribeBatch = 200

func newSubscriber(m *MQTT) *subscriber {
	s := &subscriber{m: m, wake: make(chan struct{}, 1), want: map[string]byte{}, pending: map[string]bool{}}
	p := m.opts.DiscoveryPrefix
	// QoS 1 for configs: with the persistent session of a household
	// broker, changes made while the agent was away (removals above all)
	// are queued for it. See MQTTOptions.EmbeddedBroker for the exception.
	qos := byte(1)
	if m.opts.EmbeddedBroker {
		qos = 0
	}
	s.want[p+"/+/+/config"] = qos
	s.want[p+"/+/+/+/config"] = qos
	return s
}

// add asks for a subscription (the first entity needing topic).
func (s *subscriber) add(topic string) {
	s.mu.Lock()
	s.want[topic] = 0
	s.pending[topic] = true
	s.mu.Unlock()
	s.signal()
}

// remove drops a subscription (the last entity needing topic is gone).
func (s *subscriber) remove(topic string) {
	s.mu.Lock()
	delete(s.want, topic)
	s.pending[topic] = false
	s.mu.Unlock()
	s.signal()
}

// resubscribe queues every wanted topic again (after a connect).
func (s *subscriber) resubscribe(paho.Client) {
	s.mu.Lock()
	for t := range s.want {
		s.pending[t] = true
	}
	s.mu.Unlock()
	s.signal()
}

// topics returns the wanted topics (for tests and diagnostics).
func (s *subscriber) topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.want))
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// local is the in-process broker while the client is on it, else nil.
func (s *subscriber) local() LocalBroker {
	if s.m.opts.Local == nil || s.m.Broker() != s.m.opts.Broker {
		return nil
	}
	return s.m.opts.Local
}

// deliver takes a message from the in-process broker.
func (s *subscriber) deliver(ctx context.Context, topic string, payload []byte) {
	s.m.messages.Add(1)
	s.m.disc.handle(ctx, topic, payload)
}

// flushLocal subscribes in-process (see MQTTOptions.Local). A filter the
// broker refuses is not retried: it would be refused again.
func (s *subscriber) flushLocal(ctx context.Context, local LocalBroker, subs map[string]byte, unsubs []string) {
	deliver := func(topic string, payload []byte) { s.deliver(ctx, topic, payload) }
	for _, t := range slices.Sorted(maps.Keys(subs)) {
		if err := local.Subscribe(t, deliver); err != nil {
			s.m.log.Warn("MQTT subscribe refused by the embedded broker", "topic", truncate(t, 200), "err", err)
		}
	}
	for _, t := range unsubs {
		local.Unsubscribe(t) //nolint:errcheck // only fails for an invalid filter, never subscribed
	}
}

// dropLocal ends every in-process subscription (the client moves to
// another broker).
func (s *subscriber) dropLocal() {
	if s.m.opts.Local == nil {
		return
	}
	s.mu.Lock()
	topics := slices.Sorted(maps.Keys(s.want))
	s.mu.Unlock()
	for _, t := range topics {
		s.m.opts.Local.Unsubscribe(t) //nolint:errcheck // see flushLocal
	}
}

func (s *subscriber) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		s.flush(ctx)
	}
}

// retry queues topics whose subscription failed and flushes again after a
// pause, unless they are no longer wanted by then.
func (s *subscriber) retry(topics map[string]byte) {
	s.mu.Lock()
	for t := range topics {
		if _, ok := s.want[t]; ok {
			if _, queued := s.pending[t]; !queued {
				s.pending[t] = true
			}
		}
	}
	s.mu.Unlock()
	time.AfterFunc(time.Second, s.signal)
}

// flush sends what is pending. Without a connection it is dropped: the
// next connect resubscribes everything wanted.
func (s *subscriber) flush(ctx context.Context) {
	s.mu.Lock()
	subs := map[string]byte{}
	var unsubs []string
	for t, on := range s.pending {
		if on {
			if q, ok := s.want[t]; ok {
				subs[t] = q
			}
		} else {
			unsubs = append(unsubs, t)
		}
	}
	clear(s.pending)
	s.mu.Unlock()
	if local := s.local(); local != nil {
		s.flushLocal(ctx, local, subs, unsubs)
		return
	}
	c := s.m.currentClient()
	s.m.log.Debug("MQTT flush", "subs", len(subs), "unsubs", len(unsubs), "open", c != nil && c.IsConnectionOpen())
	if c == nil || !c.IsConnectionOpen() {
		return
	}
	topics := slices.Sorted(maps.Keys(subs))
	for len(topics) > 0 {
		n := min(len(topics), subscribeBatch)
		batch := make(map[string]byte, n)
		for _, t := range topics[:n] {
			batch[t] = subs[t]
		}
		topics = topics[n:]
		tok := c.SubscribeMultiple(batch, nil)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			s.m.log.Warn("MQTT subscribe failed; will retry", "topics", n, "err", tok.Error())
			s.retry(batch)
			continue
		}
		// A broker may refuse single filters inside an accepted SUBSCRIBE
		// (return code 0x80): those are retried too, never silently lost.
		if st, ok := tok.(*paho.SubscribeToken); ok {
			refused := map[string]byte{}
			for t, code := range st.Result() {
				if code == 0x80 {
					refused[t] = batch[t]
				}
			}
			if len(refused) > 0 {
				s.m.log.Warn("MQTT broker refused subscriptions; will retry", "topics", len(refused))
				s.retry(refused)
			}
		}
	}
	for len(unsubs) > 0 {
		n := min(len(unsubs), subscribeBatch)
		tok := c.Unsubscribe(unsubs[:n]...)
		unsubs = unsubs[n:]
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			s.m.log.Debug("MQTT unsubscribe failed", "err", tok.Error())
		}
	}
}
