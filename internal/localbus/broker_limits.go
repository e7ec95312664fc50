package localbus

import (
	"bytes"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// BrokerLimits bound what clients of the embedded broker can make it hold.
// Zero fields take the defaults below.
type BrokerLimits struct {
	// MaxPacketSize is the largest MQTT packet accepted, in bytes; a
	// client sending a larger one is disconnected before its body is read.
	MaxPacketSize int
	// MaxClients is how many clients may be connected at once; more are
	// refused at CONNECT.
	MaxClients int
	// MaxPendingWrites is how many outgoing packets may wait for one slow
	// client; past it, messages to that client are dropped (and counted).
	MaxPendingWrites int
	// MaxRetained and MaxRetainedBytes bound the retained messages held
	// (count, and bytes of topics plus payloads). A retained publish past
	// either is still delivered to current subscribers but not kept.
	MaxRetained      int
	MaxRetainedBytes int
}

// Default broker limits. A discovery config may be 64 KiB
// (hadiscovery.MaxConfigSize): the packet limit leaves room for its topic
// and headers.
const (
	DefaultMaxPacketSize    = 128 << 10
	DefaultMaxClients       = 64
	DefaultMaxPendingWrites = 256
	DefaultMaxRetained      = 10000
	DefaultMaxRetainedBytes = 16 << 20
	// brokerSessionExpiry is how long the broker keeps a disconnected
	// persistent session: long enough for an appliance's reboot, short
	// enough that clients connecting under ever new ids cannot pile up
	// sessions for good.
	brokerSessionExpiry = 3600
)

func (l BrokerLimits) withDefaults() BrokerLimits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxPacketSize, DefaultMaxPacketSize)
	def(&l.MaxClients, DefaultMaxClients)
	def(&l.MaxPendingWrites, DefaultMaxPendingWrites)
	def(&l.MaxRetained, DefaultMaxRetained)
	def(&l.MaxRetainedBytes, DefaultMaxRetainedBytes)
	return l
}

// capabilities are mochi's defaults with the limits applied. QoS 1/2
// messages held for a client count against the same budget as its pending
// writes.
func (l BrokerLimits) capabilities() *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	c.MaximumPacketSize = uint32(l.MaxPacketSize)
	c.MaximumClients = int64(l.MaxClients)
	c.MaximumClientWritesPending = int32(min(l.MaxPendingWrites, 1<<30))
	c.MaximumInflight = uint16(min(l.MaxPendingWrites, 65535))
	c.MaximumSessionExpiryInterval = brokerSessionExpiry
	return c
}

// retainLimit is a broker hook that keeps the retained messages within
// MaxRetained and MaxRetainedBytes. Publishes are checked before the broker
// stores them (a refused one is delivered but not retained, and the topic
// keeps its previous retained message); the bookkeeping is done where the
// broker actually retains, which also covers retained wills, and a message
// that got past the check there is removed again.
type retainLimit struct {
	mqtt.HookBase
	srv      *mqtt.Server
	maxN     int
	maxBytes int64
	log      *slog.Logger

	mu       sync.Mutex
	sizes    map[string]int64 // topic → bytes accounted
	total    int64
	refused  uint64
	lastWarn time.Time
}

func newRetainLimit(srv *mqtt.Server, l BrokerLimits, log *slog.Logger) *retainLimit {
	return &retainLimit{srv: srv, maxN: l.MaxRetained, maxBytes: int64(l.MaxRetainedBytes), log: log, sizes: map[string]int64{}}
}

func (h *retainLimit) ID() string { return "hubagent-retain-limit" }

func (h *retainLimit) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPublish, mqtt.OnRetainMessage, mqtt.OnRetainedExpired}, []byte{b})
}

func retainedSize(pk packets.Packet) int64 { return int64(len(pk.TopicName) + len(pk.Payload)) }

// fits reports whether retaining n bytes on topic stays within the limits.
// h.mu is held.
func (h *retainLimit) fits(topic string, n int64) bool {
	old, had := h.sizes[topic]
	count := len(h.sizes)
	if !had {
		count++
	}
	return count <= h.maxN && h.total-old+n <= h.maxBytes
}

// OnPublish clears the retain flag of a publish that would go past a
// limit: current subscribers still get it.
func (h *retainLimit) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !pk.FixedHeader.Retain || len(pk.Payload) == 0 {
		return pk, nil
	}
	h.mu.Lock()
	ok := h.fits(pk.TopicName, retainedSize(pk))
	if !ok {
		h.refusedLocked(pk.TopicName, cl.ID)
	}
	h.mu.Unlock()
	if !ok {
		pk.FixedHeader.Retain = false
	}
	return pk, nil
}

// OnRetainMessage accounts for a message the broker retained or deleted.
func (h *retainLimit) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, _ int64) {
	h.mu.Lock()
	if old, had := h.sizes[pk.TopicName]; had {
		h.total -= old
		delete(h.sizes, pk.TopicName)
	}
	if len(pk.Payload) == 0 {
		h.mu.Unlock()
		return
	}
	n := retainedSize(pk)
	if !h.fits(pk.TopicName, n) {
		// A will, or a publish racing another on the same topic.
		h.refusedLocked(pk.TopicName, cl.ID)
		h.mu.Unlock()
		h.srv.Topics.RetainMessage(packets.Packet{TopicName: pk.TopicName})
		return
	}
	h.sizes[pk.TopicName] = n
	h.total += n
	h.mu.Unlock()
}

// OnRetainedExpired forgets a retained message the broker expired.
func (h *retainLimit) OnRetainedExpired(topic string) {
	h.mu.Lock()
	h.total -= h.sizes[topic]
	delete(h.sizes, topic)
	h.mu.Unlock()
}

// refusedLocked counts a refusal and warns at most once a minute.
func (h *retainLimit) refusedLocked(topic, client string) {
	h.refused++
	if now := time.Now(); now.Sub(h.lastWarn) >= time.Minute {
		h.lastWarn = now
		h.log.Warn("embedded MQTT broker: retained message not kept (retained limit reached)", "topic", truncate(topic, 200),
			"client", truncate(client, 64), "retained", len(h.sizes), "retained_bytes", h.total,
			"max_retained", h.maxN, "max_retained_bytes", h.maxBytes, "refused_total", h.refused)
	}
}

func (h *retainLimit) stats() (count, bytes int64, refused uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(len(h.sizes)), h.total, h.refused
}

// truncate shortens s for a log line.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
