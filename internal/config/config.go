// Package config turns a TOML file, HUBAGENT_* environment variables and
// command-line flag overrides into one validated Config.
//
// Precedence is defaults < file < environment < flags. Every problem is
// reported as an *Error naming the key and where its value came from: the
// file and line, the environment variable or the flag.
//
// Relative paths (data_dir and the cert, key and CA files) are used as given,
// that is relative to the agent's working directory, not to the directory of
// the configuration file.
package config

import (
	"path/filepath"
	"time"
)

// Config is the agent's complete configuration.
type Config struct {
	// DataDir holds the database, keys and the local control socket.
	DataDir string
	Log     Log
	API     API
	MQTT    MQTT
	MDNS    MDNS
	Drivers Drivers
	Store   Store
	Notify  Notify
	Tunnel  Tunnel
	// File is the configuration file that was read, "" if none.
	File string
}

// Log configures the agent's own log output.
type Log struct {
	Level  string // debug, info, warn or error
	Format string // text or json
}

// API configures the HTTPS server partner clouds talk to.
type API struct {
	Listen string // host:port
	// CertFile and KeyFile name a PEM certificate and key; both empty means a
	// self-signed certificate made on first run.
	CertFile       string
	KeyFile        string
	CommandTimeout time.Duration // how long a command may wait for the appliance
	TokenTTL       time.Duration // lifetime of issued access tokens
	RateLimit      float64       // sustained requests per second per partner
	RateBurst      int           // requests a partner may burst above RateLimit
	// Retention of what partners make the hub write: answers kept for
	// idempotent retries, and the audit trail of Controls, each bounded by
	// age and total bytes (oldest dropped first).
	IdempotencyWindow   time.Duration
	IdempotencyMaxBytes int
	AuditMaxAge         time.Duration
	AuditMaxBytes       int
}

// MQTT configures the connection to the MQTT broker that carries Home
// Assistant discovery.
type MQTT struct {
	// Broker is "" for the embedded broker, "auto" for the first _mqtt._tcp
	// broker found by mDNS, or a URL such as "tcp://broker.lan:1883".
	Broker          string
	Listen          string // listen address of the embedded broker
	Username        string
	Password        string // secret: never printed, see Redacted
	CAFile          string
	CertFile        string
	KeyFile         string
	ClientID        string // "" lets the agent derive one from the hub id
	DiscoveryPrefix string // Home Assistant discovery topic prefix
	// AllowAnonymous lets clients without credentials use an embedded
	// broker that listens beyond loopback.
	AllowAnonymous bool
	// Limits of the embedded broker (see docs/limits.md).
	MaxPacketSize    int // bytes
	MaxClients       int
	MaxPendingWrites int // per client
	MaxRetained      int
	MaxRetainedBytes int
	// Limits of discovery and state intake, with any broker.
	MaxStatePayload      int // bytes
	StateQueueBytes      int
	MaxEntitiesPerDevice int
}

// MDNS configures service discovery on the LAN.
type MDNS struct {
	Enabled    bool
	Interfaces []string // empty: every up, multicast-capable interface but a public uplink (mdns.ChooseInterfaces)
	Services   []string // service types to browse, such as "_wled._tcp"
	Advertise  bool     // announce the agent as _hubagent._tcp
}

// Drivers configures the drivers for appliances found by mDNS.
type Drivers struct {
	PollInterval   time.Duration
	ShellyPassword string // secret: never printed, see Redacted
}

// Store configures the SQLite state cache.
type Store struct {
	// CoalesceWindow is how long repeated writes to one property are merged
	// before they reach the disk; 0 writes every change.
	CoalesceWindow time.Duration
	// FlushInterval is how long state changes, coalesced per property in
	// memory, wait before they are committed together (notifications do
	// not wait for it); 0 commits every coalescing window. A power cut
	// loses at most this much state, which devices report again.
	FlushInterval time.Duration
	// FlushMaxPending commits earlier once this many distinct properties
	// wait.
	FlushMaxPending int
	// MinFreeBytes: with less free space than this on the data directory's
	// file system the store is reported unhealthy.
	MinFreeBytes int
}

// Notify configures delivery of state changes to partner clouds.
type Notify struct {
	CAFile string        // extra CA bundle for partner endpoints; "" uses the system roots
	MaxAge time.Duration // pending notifications older than this are dropped
	// Caps on subscriptions (Subscribe past them is refused) and on a
	// partner's undelivered events (the oldest are dropped and counted).
	MaxSubscriptionsPerGrant   int
	MaxSubscriptionsPerPartner int
	MaxPendingPerPartner       int
}

// Tunnel configures the SSH reverse tunnel to a relay.
type Tunnel struct {
	Relay          string // host:port of the relay's SSH server; "" turns the tunnel off
	User           string
	HostKey        string // the relay's public key, one authorized_keys-format line
	AcceptNew      bool   // trust the relay's key on first connection instead of HostKey
	RemoteListen   string // host:port the relay listens on for this hub
	KeyFile        string // this hub's private key; "" in a file means <data_dir>/tunnel_ed25519
	PublicURL      string // https URL partners reach the hub at through the relay
	TrustForwarded bool   // trust X-Forwarded-* headers from the relay
}

// Defaults that other values are derived from.
const (
	defaultDataDir    = "./hubagent-data"
	tunnelKeyFileName = "tunnel_ed25519"
	maxCoalesceWindow = 10 * time.Second
	maxFlushInterval  = time.Hour
	maxFlushPending   = 1_000_000
	redacted          = "***"
)

// Default returns the configuration used when nothing is configured: data in
// ./hubagent-data, the embedded MQTT broker, HTTPS on :8443 and no tunnel.
func Default() *Config {
	c := &Config{
		DataDir: defaultDataDir,
		Log:     Log{Level: "info", Format: "text"},
		API: API{
			Listen:         ":8443",
			CommandTimeout: 5 * time.Second,
			TokenTTL:       time.Hour,
			RateLimit:      20,
			RateBurst:      40,
			// A Control answer is a few hundred bytes: 4 MiB keeps the
			// full 10-minute window at the default rate limit; 2 MiB of
			// audit is some 10,000 commands.
			IdempotencyWindow:   10 * time.Minute,
			IdempotencyMaxBytes: 4 << 20,
			AuditMaxAge:         30 * 24 * time.Hour,
			AuditMaxBytes:       2 << 20,
		},
		MQTT: MQTT{
			Listen:               "127.0.0.1:1883",
			DiscoveryPrefix:      "homeassistant",
			MaxPacketSize:        128 << 10,
			MaxClients:           64,
			MaxPendingWrites:     256,
			MaxRetained:          10000,
			MaxRetainedBytes:     16 << 20,
			MaxStatePayload:      64 << 10,
			StateQueueBytes:      4 << 20,
			MaxEntitiesPerDevice: 512,
		},
		MDNS: MDNS{
			Enabled:    true,
			Interfaces: []string{},
			Services: []string{
				"_mqtt._tcp", "_wled._tcp", "_shelly._tcp",
				"_hap._tcp", "_googlecast._tcp", "_http._tcp",
			},
			Advertise: true,
		},
		Drivers: Drivers{PollInterval: 5 * time.Second},
		Store:   Store{CoalesceWindow: 200 * time.Millisecond, FlushInterval: 10 * time.Minute, FlushMaxPending: 10000, MinFreeBytes: 4 << 20},
		Notify: Notify{MaxAge: 24 * time.Hour, MaxSubscriptionsPerGrant: 16, MaxSubscriptionsPerPartner: 64,
			MaxPendingPerPartner: 10000},
		Tunnel: Tunnel{User: "hubagent"},
	}
	c.deriveDefaults()
	return c
}

// deriveDefaults fills values whose default depends on other values, so that
// moving data_dir also moves the tunnel key unless it was named explicitly.
func (c *Config) deriveDefaults() {
	if c.Tunnel.KeyFile == "" {
		c.Tunnel.KeyFile = filepath.Join(c.DataDir, tunnelKeyFileName)
	}
}
