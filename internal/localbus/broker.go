// Package localbus is the appliance side of the agent: the MQTT client and
// Home Assistant discovery, mDNS browsing and advertising, HTTP appliance
// drivers, and the embedded MQTT broker used when the household has none.
package localbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// BrokerOptions configure the embedded broker.
type BrokerOptions struct {
	// Listen is the TCP address appliances connect to (default
	// 127.0.0.1:1883).
	Listen string
	// Username and Password, when set, are required of every client;
	// otherwise any client may connect, which is allowed on loopback only
	// unless AllowAnonymous is set.
	Username, Password string
	// AllowAnonymous lets clients without credentials connect to a broker
	// listening beyond loopback.
	AllowAnonymous bool
	Limits         BrokerLimits
	Logger         *slog.Logger
}

// Broker is the embedded MQTT broker (mochi-mqtt): a fallback so that a
// household without a broker can point its appliances at the hub itself.
type Broker struct {
	srv      *mqtt.Server
	addr     string
	retained *retainLimit
	gate     *clientGate
}

// ErrAddrInUse reports that the broker's port is taken.
var ErrAddrInUse = errors.New("address already in use")

// StartBroker starts the embedded broker and returns once it listens.
func StartBroker(opts BrokerOptions) (*Broker, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:1883"
	}
	if opts.Username == "" && !opts.AllowAnonymous && !isLoopback(opts.Listen) {
		return nil, fmt.Errorf("localbus: embedded MQTT broker on %s: %w", opts.Listen, ErrAnonymousBeyondLoopback)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := opts.Limits.withDefaults()
	// The broker logs every client connect and hook at info; only its
	// warnings and errors belong in the agent's log.
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(minLevel{log.Handler(), slog.LevelWarn}), InlineClient: true,
		Capabilities: lim.capabilities()})
	retained := newRetainLimit(srv, lim, log)
	if err := srv.AddHook(retained, nil); err != nil {
		return nil, fmt.Errorf("localbus: broker limits: %w", err)
	}
	gate := newClientGate(srv, opts, lim, log)
	if err := srv.AddHook(gate, nil); err != nil {
		return nil, fmt.Errorf("localbus: broker auth: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: opts.Listen})
	if err := srv.AddListener(tcp); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("localbus: embedded MQTT broker on %s: %w (another broker running? set [mqtt] broker to use it, or [mqtt] listen)", opts.Listen, ErrAddrInUse)
		}
		return nil, fmt.Errorf("localbus: embedded MQTT broker on %s: %w", opts.Listen, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("localbus: embedded MQTT broker: %w", err)
	}
	return &Broker{srv: srv, addr: tcp.Address(), retained: retained, gate: gate}, nil
}

// ErrAnonymousBeyondLoopback refuses an embedded broker that would let
// anyone on the network publish to the agent without credentials.
var ErrAnonymousBeyondLoopback = errors.New("listening beyond loopback needs [mqtt] username and password " +
	"(anonymous clients are refused there), or [mqtt] allow_anonymous = true")

// isLoopback reports whether a listen address only accepts local clients.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// inlineSubID identifies the agent's in-process subscriptions.
const inlineSubID = 1

// Subscribe delivers the messages matching filter to fn in-process: first
// the retained ones, then each as it is published, on the publisher's
// goroutine (a slow fn slows that publisher down; nothing is queued or
// dropped on the way). The agent's own client takes its subscriptions
// this way (MQTTOptions.Local): over TCP, the broker hands a subscribing
// client all its retained messages at once and drops what does not fit
// its pending writes (mqtt.max_pending_writes), and a burst of live
// messages likewise.
func (b *Broker) Subscribe(filter string, fn func(topic string, payload []byte)) error {
	return b.srv.Subscribe(filter, inlineSubID, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		fn(pk.TopicName, pk.Payload)
	})
}

// Unsubscribe ends an in-process subscription.
func (b *Broker) Unsubscribe(filter string) error { return b.srv.Unsubscribe(filter, inlineSubID) }

// BrokerStats are the embedded broker's counters for metrics.
type BrokerStats struct {
	Clients         int64  // connected now
	Retained        int64  // retained messages held
	RetainedBytes   int64  // their topics and payloads
	RetainRefused   uint64 // retained messages not kept (over a limit)
	MessagesDropped int64  // messages dropped for slow clients (pending writes full)
	// SessionsRefused counts clients refused because the broker already
	// remembers 2 × max_clients sessions; OfflineDropped, messages not
	// queued for a disconnected session past its budget.
	SessionsRefused, OfflineDropped uint64
}

// Stats returns the broker's counters.
func (b *Broker) Stats() BrokerStats {
	n, bytes, refused := b.retained.stats()
	return BrokerStats{Clients: atomic.LoadInt64(&b.srv.Info.ClientsConnected), Retained: n, RetainedBytes: bytes,
		RetainRefused: refused, MessagesDropped: atomic.LoadInt64(&b.srv.Info.MessagesDropped),
		SessionsRefused: b.gate.sessionsRefused.Load(), OfflineDropped: b.gate.offlineDropped.Load()}
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close stops the broker.
func (b *Broker) Close() error { return b.srv.Close() }

// minLevel drops records below a level before they reach the handler.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
