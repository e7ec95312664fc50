// Package localbus is the appliance side of the agent: the MQTT client and
// Home Assistant discovery, mDNS browsing and advertising, HTTP appliance
// drivers, and the embedded MQTT broker used when the household has none.
package localbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// BrokerOptions configure the embedded broker.
type BrokerOptions struct {
	// Listen is the TCP address appliances connect to (default
	// 127.0.0.1:1883).
	Listen string
	// Username and Password, when set, are required of every client;
	// otherwise any client may connect (sensible on loopback only).
	Username, Password string
	Logger             *slog.Logger
}

// Broker is the embedded MQTT broker (mochi-mqtt): a fallback so that a
// household without a broker can point its appliances at the hub itself.
type Broker struct {
	srv  *mqtt.Server
	addr string
}

// ErrAddrInUse reports that the broker's port is taken.
var ErrAddrInUse = errors.New("address already in use")

// StartBroker starts the embedded broker and returns once it listens.
func StartBroker(opts BrokerOptions) (*Broker, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:1883"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The broker logs every client connect and hook at info; only its
	// warnings and errors belong in the agent's log.
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(minLevel{log.Handler(), slog.LevelWarn}), InlineClient: false})
	ba := &brokerAuth{}
	if opts.Username != "" {
		ba.user, ba.pass = []byte(opts.Username), []byte(opts.Password)
	}
	err := srv.AddHook(ba, nil)
	if err != nil {
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
	return &Broker{srv: srv, addr: tcp.Address()}, nil
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
