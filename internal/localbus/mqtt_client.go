package localbus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/hub"
)

// MQTTSource is the device source of everything the MQTT client discovers.
const MQTTSource = "mqtt"

// MQTTOptions configure the MQTT client.
type MQTTOptions struct {
	Hub   *hub.Hub
	HubID string
	// Broker is the broker URL: tcp://, ssl:// (or mqtts://) or ws://.
	Broker             string
	Username, Password string
	// CAFile verifies an ssl:// broker (default: the system roots);
	// CertFile and KeyFile are a client certificate.
	CAFile, CertFile, KeyFile string
	// ClientID defaults to "hubagent-<hub id>". It must stay the same across
	// restarts: the session is persistent.
	ClientID string
	// DiscoveryPrefix defaults to "homeassistant".
	DiscoveryPrefix string
	// EmbeddedBroker says the broker is the agent's own. Its sessions do
	// not outlive the agent, so discovery configs are subscribed at QoS 0:
	// queueing them for a persistent session gains nothing there, and with
	// QoS 1 the embedded broker was seen to drop state subscriptions made
	// while it was still delivering the retained configs.
	EmbeddedBroker bool
	// Local, when set (the embedded broker), takes the client's
	// subscriptions in-process while the client is on Broker: nothing for
	// the agent waits in the broker's queues, where a burst past
	// mqtt.max_pending_writes would be dropped. Publishing still goes
	// over the connection.
	Local LocalBroker
	// MaxEntities bounds the discovery configs tracked (default 10,000);
	// configs beyond it are refused and counted.
	MaxEntities int
	// MaxEntitiesPerDevice bounds the entities grouped into one device
	// (default DefaultMaxEntitiesPerDevice); more are refused and counted.
	MaxEntitiesPerDevice int
	// MaxStatePayload is the largest state or availability payload
	// decoded (default DefaultMaxStatePayload); larger ones are dropped
	// and counted before they are queued.
	MaxStatePayload int
	// StateQueueBytes bounds the payload bytes waiting for the state
	// workers (default DefaultStateQueueBytes); past it, or past
	// stateQueueLen messages for one worker, reading from the broker waits.
	StateQueueBytes int
	// MaxReconnectInterval caps the reconnect backoff (default 30 s).
	MaxReconnectInterval time.Duration
	// UnconfirmedGrace is how long after start the stored devices may stay
	// unconfirmed while the broker is unreachable before they are
	// announced offline (default 30 s). Devices a connected broker has not
	// replayed by then (10 s after it connected, or this grace if
	// shorter) are announced offline too.
	UnconfirmedGrace time.Duration
	Logger           *slog.Logger
}

// LocalBroker is a broker in the same process (Broker).
type LocalBroker interface {
	Subscribe(filter string, fn func(topic string, payload []byte)) error
	Unsubscribe(filter string) error
}

// MQTTStats are the client's counters for metrics.
type MQTTStats struct {
	Connected bool
	Messages  uint64 // messages received
	Refused   uint64 // discovery configs refused (invalid, over a limit)
	// StateDropped counts state and availability messages dropped for
	// being larger than MaxStatePayload.
	StateDropped uint64
}

// Defaults of the MQTT client's limits.
const (
	DefaultMaxEntitiesPerDevice = 512
	DefaultMaxStatePayload      = 64 << 10
	DefaultStateQueueBytes      = 4 << 20
)

// MQTT is the Home Assistant discovery client: it turns discovery configs
// into hub devices, state and availability messages into hub state, and
// hub commands into publishes (it is the Driver of source "mqtt").
type MQTT struct {
	opts   MQTTOptions
	hub    *hub.Hub
	log    *slog.Logger
	tlsCfg *tls.Config

	started  atomic.Bool
	switches chan brokerSwitch // SetBroker's requests, served by Run
	done     chan struct{}     // closed when Run returns

	connMu sync.Mutex // guards client, broker and gen changes
	client paho.Client
	broker string

	connected atomic.Bool
	messages  atomic.Uint64
	refused   atomic.Uint64
	dropped   atomic.Uint64

	disc *discovery
	subs *subscriber
}

// brokerSwitch is one SetBroker call handed to Run.
type brokerSwitch struct {
	url  string
	done chan struct{}
}

// NewMQTT checks the options, loads TLS material and marks the MQTT devices
// offline; Run connects.
func NewMQTT(opts MQTTOptions) (*MQTT, error) {
	if opts.Hub == nil {
		return nil, errors.New("localbus: mqtt: no hub")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DiscoveryPrefix == "" {
		opts.DiscoveryPrefix = "homeassistant"
	}
	if opts.ClientID == "" {
		opts.ClientID = "hubagent-" + opts.HubID
	}
	if opts.MaxEntities <= 0 {
		opts.MaxEntities = 10000
	}
	if opts.MaxEntitiesPerDevice <= 0 {
		opts.MaxEntitiesPerDevice = DefaultMaxEntitiesPerDevice
	}
	if opts.MaxStatePayload <= 0 {
		opts.MaxStatePayload = DefaultMaxStatePayload
	}
	if opts.StateQueueBytes <= 0 {
		opts.StateQueueBytes = DefaultStateQueueBytes
	}
	if opts.MaxReconnectInterval <= 0 {
		opts.MaxReconnectInterval = 30 * time.Second
	}
	if opts.UnconfirmedGrace <= 0 {
		opts.UnconfirmedGrace = defaultUnconfirmedGrace
	}
	if err := checkBrokerURL(opts.Broker); err != nil {
		return nil, err
	}
	tlsCfg, err := loadTLS(opts.CAFile, opts.CertFile, opts.KeyFile)
	if err != nil {
		return nil, err
	}
	m := &MQTT{opts: opts, hub: opts.Hub, log: opts.Logger, tlsCfg: tlsCfg, broker: opts.Broker,
		switches: make(chan brokerSwitch), done: make(chan struct{})}
	m.disc = newDiscovery(m)
	m.subs = newSubscriber(m)
	// The MQTT devices in the store are offline until the broker confirms
	// them: from now, not from Run, so that no request answered while the
	// agent starts sees them online.
	m.hub.SetSourceUnconfirmed(MQTTSource)
	return m, nil
}

func checkBrokerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("localbus: mqtt broker %q: %w", s, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("localbus: mqtt broker %q: want a tcp://, ssl:// or ws:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("localbus: mqtt broker %q: no host", s)
	}
	return nil
}

func loadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("localbus: mqtt CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("localbus: mqtt CA file %s: no PEM certificates", caFile)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("localbus: mqtt client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// StatusTopic is where the agent announces itself: "online" while
// connected, "offline" (retained, also the last will) otherwise.
func (m *MQTT) StatusTopic() string { return "hubagent/" + m.opts.HubID + "/status" }

// Source is the device source the client owns: registered in Drivers, it
// takes the hub's commands for MQTT devices.
func (m *MQTT) Source() string { return MQTTSource }

// Run connects in the background (retrying with a capped
// backoff; it does not wait for the broker) and serves SetBroker until ctx
// ends. It then announces "offline", disconnects, stores the devices whose
// rebuild was pending and waits for its goroutines. Run may be called
// once; an error is one the client cannot recover from.
func (m *MQTT) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("localbus: mqtt: Run called twice")
	}
	defer close(m.done)
	// The message handlers and workers outlive ctx by the few steps of
	// the shutdown below: what the broker delivered before the disconnect
	// still reaches the hub, as does every pending rebuild.
	work, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { m.subs.run(work) })
	m.disc.runWorkers(work, &wg)
	m.connMu.Lock()
	m.connectLocked(work)
	m.connMu.Unlock()
	// The stored devices are unconfirmed until the broker replays them;
	// a broker still unreachable after UnconfirmedGrace is announced as
	// the loss it is, and so are the devices a connected broker did not
	// replay.
	grace := time.NewTimer(m.opts.UnconfirmedGrace)
	defer grace.Stop()
	replay := min(replaySettle, m.opts.UnconfirmedGrace)
	for {
		select {
		case <-grace.C:
			if wait := m.disc.settle(time.Now(), replay); wait > 0 {
				grace.Reset(wait)
			}
		case sw := <-m.switches:
			m.switchBroker(work, sw.url)
			close(sw.done)
		case <-ctx.Done():
			m.connMu.Lock()
			m.disconnectLocked(false)
			m.connMu.Unlock()
			m.disc.flushRebuilds(work)
			stop()
			wg.Wait()
			return nil
		}
	}
}

// defaultUnconfirmedGrace is how long after start the MQTT devices may stay
// unconfirmed (offline to requests, not announced) while the broker is
// unreachable: a restart of the agent or of the broker beside it takes
// seconds, and partners should not hear of every device going offline and
// back for that.
const defaultUnconfirmedGrace = 30 * time.Second

// replaySettle is how long a broker must have been connected before the
// devices it did not replay count as gone: retained configs come at once
// after the subscription, their devices a rebuild pause later.
const replaySettle = 10 * time.Second

// Broker returns the URL of the broker the client uses now.
func (m *MQTT) Broker() string {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	return m.broker
}

// SetBroker switches to another broker at run time (mDNS found one for
// "auto"). Devices go offline and come back as the new broker replays their
// retained configs; nothing is removed. The switch is made by Run: a call
// before Run starts waits for it, one after Run returned does nothing.
func (m *MQTT) SetBroker(url string) error {
	if err := checkBrokerURL(url); err != nil {
		return err
	}
	sw := brokerSwitch{url: url, done: make(chan struct{})}
	select {
	case m.switches <- sw:
		<-sw.done
	case <-m.done:
	}
	return nil
}

// switchBroker is SetBroker, run by Run.
func (m *MQTT) switchBroker(ctx context.Context, url string) {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	if url == m.broker {
		return
	}
	m.log.Info("switching MQTT broker", "broker", redactURL(url))
	if m.broker == m.opts.Broker {
		m.subs.dropLocal()
	}
	m.disconnectLocked(true)
	m.broker = url
	m.disc.newBroker()
	m.connectLocked(ctx)
}

// Stats returns the client's counters.
func (m *MQTT) Stats() MQTTStats {
	return MQTTStats{Connected: m.connected.Load(), Messages: m.messages.Load(), Refused: m.refused.Load(),
		StateDropped: m.dropped.Load()}
}

func (m *MQTT) currentClient() paho.Client {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	return m.client
}

// connectLocked makes a client for m.broker and starts connecting; its
// messages are handled until ctx ends.
func (m *MQTT) connectLocked(ctx context.Context) {
	o := paho.NewClientOptions().AddBroker(m.broker).SetClientID(m.opts.ClientID).
		SetUsername(m.opts.Username).SetPassword(m.opts.Password).SetTLSConfig(m.tlsCfg).
		// A persistent session: the broker keeps our subscriptions and
		// queues QoS 1 discovery changes while we are away.
		SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(m.opts.MaxReconnectInterval).
		SetConnectRetry(true).SetConnectRetryInterval(time.Second).
		SetConnectTimeout(10*time.Second).SetWriteTimeout(10*time.Second).
		SetKeepAlive(30*time.Second).SetPingTimeout(10*time.Second).
		SetOrderMatters(true).SetMessageChannelDepth(1024).
		SetWill(m.StatusTopic(), "offline", 1, true)
	if u, err := url.Parse(m.broker); err == nil && bufferedScheme(u.Scheme) {
		o.SetCustomOpenConnectionFn(openBufferedConn)
	}
	var client paho.Client
	o.SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) {
		m.messages.Add(1)
		m.disc.handle(ctx, msg.Topic(), msg.Payload())
	})
	o.SetOnConnectHandler(func(c paho.Client) { m.onConnect(c) })
	o.SetConnectionLostHandler(func(c paho.Client, err error) {
		m.log.Warn("MQTT broker connection lost", "broker", redactURL(m.Broker()), "err", err)
		m.onDisconnect(c)
	})
	client = paho.NewClient(o)
	m.client = client
	client.Connect() // retries in the background until it connects or is disconnected
}

// disconnectLocked says "offline" and drops the current client. With
// announce the devices go offline for partners too (the agent switches
// brokers); without, the agent is stopping: the devices have not changed,
// so they are only unconfirmed, and the store keeps what partners were
// last told (else every restart would announce every device offline and
// back online).
func (m *MQTT) disconnectLocked(announce bool) {
	c := m.client
	if c == nil {
		return
	}
	m.client = nil
	if c.IsConnectionOpen() {
		c.Publish(m.StatusTopic(), 0, true, "offline").WaitTimeout(time.Second)
	}
	c.Disconnect(250)
	if announce {
		m.markDisconnected()
		return
	}
	m.connected.Store(false)
	m.disc.setConnected(false, false)
}

func (m *MQTT) onConnect(c paho.Client) {
	if m.currentClient() != c {
		return // a client replaced by SetBroker
	}
	m.log.Info("MQTT broker connected", "broker", redactURL(m.Broker()))
	m.connected.Store(true)
	// QoS 0: paho re-sends the session's stored QoS 1 packets on connect
	// and races with a QoS 1 publish made meanwhile (an open paho issue);
	// retained QoS 0 is as good for a status topic.
	c.Publish(m.StatusTopic(), 0, true, "online")
	// Subscribe again even with a persistent session: a broker restarted
	// without persistence has forgotten us. Retained configs, states and
	// availability replay and rebuild the devices.
	m.subs.resubscribe(c)
	m.disc.setConnected(true, true)
}

func (m *MQTT) onDisconnect(c paho.Client) {
	if m.currentClient() != c {
		return
	}
	m.markDisconnected()
}

// markDisconnected takes every MQTT device offline: without the broker
// nothing about them is known.
func (m *MQTT) markDisconnected() {
	m.connected.Store(false)
	m.disc.setConnected(false, true)
}

// redactURL drops credentials from a broker URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
