package localbus

import (
	"bytes"
	"crypto/subtle"
	"log/slog"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// What the broker may hold for one disconnected client with a persistent
// session: QoS 1/2 messages wait for it to come back. Bounded apart from
// max_pending_writes because disconnected sessions are not bounded by
// max_clients: each may hold this much, and there are at most
// sessionsPerClientSlot × max_clients sessions.
const (
	offlineMaxMessages    = 100
	offlineMaxBytes       = 1 << 20
	sessionsPerClientSlot = 2
)

// clientGate is the broker's admission hook: credentials when configured,
// a cap on sessions (connected or remembered for a persistent client), and
// a budget for what a disconnected session may have queued.
type clientGate struct {
	mqtt.HookBase
	srv         *mqtt.Server
	user, pass  []byte // user nil: anonymous clients are welcome
	maxSessions int
	log         *slog.Logger

	sessionsRefused atomic.Uint64
	offlineDropped  atomic.Uint64
}

func newClientGate(srv *mqtt.Server, opts BrokerOptions, lim BrokerLimits, log *slog.Logger) *clientGate {
	g := &clientGate{srv: srv, maxSessions: sessionsPerClientSlot * lim.MaxClients, log: log}
	if opts.Username != "" {
		g.user, g.pass = []byte(opts.Username), []byte(opts.Password)
	}
	return g
}

func (g *clientGate) ID() string { return "hubagent-client-gate" }

func (g *clientGate) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// OnConnect refuses a new session when the broker already remembers
// maxSessions; a client taking up its own session again is let in.
func (g *clientGate) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if _, known := g.srv.Clients.Get(cl.ID); known || g.sessions() < g.maxSessions {
		return nil
	}
	if g.sessionsRefused.Add(1) == 1 {
		g.log.Warn("embedded MQTT broker: too many sessions; refusing new clients until old sessions expire",
			"sessions", g.sessions(), "limit", g.maxSessions)
	}
	code := packets.ErrServerBusy
	if cl.Properties.ProtocolVersion < 5 {
		code = packets.ErrServerUnavailable
	}
	g.srv.SendConnack(cl, code, false, nil) //nolint:errcheck // the connection is dropped either way
	return code
}

// sessions counts the clients the broker remembers, connected or not,
// without its in-process client.
func (g *clientGate) sessions() int {
	n := g.srv.Clients.Len()
	if _, ok := g.srv.Clients.Get(mqtt.InlineClientId); ok {
		n--
	}
	return n
}

// OnConnectAuthenticate checks the configured credentials.
func (g *clientGate) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if g.user == nil {
		return true
	}
	userOK := subtle.ConstantTimeCompare(pk.Connect.Username, g.user)
	passOK := subtle.ConstantTimeCompare(pk.Connect.Password, g.pass)
	return userOK&passOK == 1
}

// OnACLCheck lets authenticated clients use every topic. The broker also
// asks it before queueing a message for a subscriber: a disconnected
// session past its budget gets no more.
func (g *clientGate) OnACLCheck(cl *mqtt.Client, _ string, write bool) bool {
	if write || !cl.Closed() {
		return true
	}
	if cl.State.Inflight.Len() >= offlineMaxMessages {
		g.offlineDropped.Add(1)
		return false
	}
	held := 0
	for _, pk := range cl.State.Inflight.GetAll(false) {
		held += len(pk.Payload)
	}
	if held >= offlineMaxBytes {
		g.offlineDropped.Add(1)
		return false
	}
	return true
}
