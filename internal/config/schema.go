package config

import (
	"strings"
	"time"
)

// field is one configuration key and the Config field it sets.
type field struct {
	// key is the dotted TOML key, such as "mqtt.broker".
	key string
	// ptr returns a pointer to the field in c: *string, *bool, *int,
	// *float64, *time.Duration or *[]string. The pointer's type decides how
	// TOML and environment values are parsed.
	ptr func(c *Config) any
	// secret fields are replaced by "***" in Redacted.
	secret bool
}

// envName is the environment variable that sets the field.
func (f field) envName() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(f.key, ".", "_"))
}

// section is the table the key lives in, "" for top-level keys.
func (f field) section() string {
	if i := strings.LastIndexByte(f.key, '.'); i >= 0 {
		return f.key[:i]
	}
	return ""
}

// name is the key inside its section.
func (f field) name() string {
	return f.key[strings.LastIndexByte(f.key, '.')+1:]
}

// schema lists every key in the order of the example file. It is a function,
// not a variable, so that the package keeps no mutable global state.
func schema() []field {
	return []field{
		{key: "data_dir", ptr: func(c *Config) any { return &c.DataDir }},

		{key: "log.level", ptr: func(c *Config) any { return &c.Log.Level }},
		{key: "log.format", ptr: func(c *Config) any { return &c.Log.Format }},

		{key: "api.listen", ptr: func(c *Config) any { return &c.API.Listen }},
		{key: "api.cert_file", ptr: func(c *Config) any { return &c.API.CertFile }},
		{key: "api.key_file", ptr: func(c *Config) any { return &c.API.KeyFile }},
		{key: "api.command_timeout", ptr: func(c *Config) any { return &c.API.CommandTimeout }},
		{key: "api.token_ttl", ptr: func(c *Config) any { return &c.API.TokenTTL }},
		{key: "api.rate_limit", ptr: func(c *Config) any { return &c.API.RateLimit }},
		{key: "api.rate_burst", ptr: func(c *Config) any { return &c.API.RateBurst }},
		{key: "api.idempotency_window", ptr: func(c *Config) any { return &c.API.IdempotencyWindow }},
		{key: "api.idempotency_max_bytes", ptr: func(c *Config) any { return &c.API.IdempotencyMaxBytes }},
		{key: "api.audit_max_age", ptr: func(c *Config) any { return &c.API.AuditMaxAge }},
		{key: "api.audit_max_bytes", ptr: func(c *Config) any { return &c.API.AuditMaxBytes }},

		{key: "mqtt.broker", ptr: func(c *Config) any { return &c.MQTT.Broker }},
		{key: "mqtt.listen", ptr: func(c *Config) any { return &c.MQTT.Listen }},
		{key: "mqtt.username", ptr: func(c *Config) any { return &c.MQTT.Username }},
		{key: "mqtt.password", ptr: func(c *Config) any { return &c.MQTT.Password }, secret: true},
		{key: "mqtt.ca_file", ptr: func(c *Config) any { return &c.MQTT.CAFile }},
		{key: "mqtt.cert_file", ptr: func(c *Config) any { return &c.MQTT.CertFile }},
		{key: "mqtt.key_file", ptr: func(c *Config) any { return &c.MQTT.KeyFile }},
		{key: "mqtt.client_id", ptr: func(c *Config) any { return &c.MQTT.ClientID }},
		{key: "mqtt.discovery_prefix", ptr: func(c *Config) any { return &c.MQTT.DiscoveryPrefix }},
		{key: "mqtt.allow_anonymous", ptr: func(c *Config) any { return &c.MQTT.AllowAnonymous }},
		{key: "mqtt.max_packet_size", ptr: func(c *Config) any { return &c.MQTT.MaxPacketSize }},
		{key: "mqtt.max_clients", ptr: func(c *Config) any { return &c.MQTT.MaxClients }},
		{key: "mqtt.max_pending_writes", ptr: func(c *Config) any { return &c.MQTT.MaxPendingWrites }},
		{key: "mqtt.max_retained", ptr: func(c *Config) any { return &c.MQTT.MaxRetained }},
		{key: "mqtt.max_retained_bytes", ptr: func(c *Config) any { return &c.MQTT.MaxRetainedBytes }},
		{key: "mqtt.max_state_payload", ptr: func(c *Config) any { return &c.MQTT.MaxStatePayload }},
		{key: "mqtt.state_queue_bytes", ptr: func(c *Config) any { return &c.MQTT.StateQueueBytes }},
		{key: "mqtt.max_entities_per_device", ptr: func(c *Config) any { return &c.MQTT.MaxEntitiesPerDevice }},

		{key: "mdns.enabled", ptr: func(c *Config) any { return &c.MDNS.Enabled }},
		{key: "mdns.interfaces", ptr: func(c *Config) any { return &c.MDNS.Interfaces }},
		{key: "mdns.services", ptr: func(c *Config) any { return &c.MDNS.Services }},
		{key: "mdns.advertise", ptr: func(c *Config) any { return &c.MDNS.Advertise }},

		{key: "drivers.poll_interval", ptr: func(c *Config) any { return &c.Drivers.PollInterval }},
		{key: "drivers.shelly_password", ptr: func(c *Config) any { return &c.Drivers.ShellyPassword }, secret: true},

		{key: "store.coalesce_window", ptr: func(c *Config) any { return &c.Store.CoalesceWindow }},
		{key: "store.flush_interval", ptr: func(c *Config) any { return &c.Store.FlushInterval }},
		{key: "store.flush_max_pending", ptr: func(c *Config) any { return &c.Store.FlushMaxPending }},
		{key: "store.min_free_bytes", ptr: func(c *Config) any { return &c.Store.MinFreeBytes }},

		{key: "notify.ca_file", ptr: func(c *Config) any { return &c.Notify.CAFile }},
		{key: "notify.max_age", ptr: func(c *Config) any { return &c.Notify.MaxAge }},
		{key: "notify.max_subscriptions_per_grant", ptr: func(c *Config) any { return &c.Notify.MaxSubscriptionsPerGrant }},
		{key: "notify.max_subscriptions_per_partner", ptr: func(c *Config) any { return &c.Notify.MaxSubscriptionsPerPartner }},
		{key: "notify.max_pending_per_partner", ptr: func(c *Config) any { return &c.Notify.MaxPendingPerPartner }},

		{key: "tunnel.relay", ptr: func(c *Config) any { return &c.Tunnel.Relay }},
		{key: "tunnel.user", ptr: func(c *Config) any { return &c.Tunnel.User }},
		{key: "tunnel.host_key", ptr: func(c *Config) any { return &c.Tunnel.HostKey }},
		{key: "tunnel.accept_new", ptr: func(c *Config) any { return &c.Tunnel.AcceptNew }},
		{key: "tunnel.remote_listen", ptr: func(c *Config) any { return &c.Tunnel.RemoteListen }},
		{key: "tunnel.key_file", ptr: func(c *Config) any { return &c.Tunnel.KeyFile }},
		{key: "tunnel.public_url", ptr: func(c *Config) any { return &c.Tunnel.PublicURL }},
		{key: "tunnel.trust_forwarded", ptr: func(c *Config) any { return &c.Tunnel.TrustForwarded }},
	}
}

// typeName describes what a field wants, for error messages.
func typeName(ptr any) string {
	switch ptr.(type) {
	case *string:
		return "a string"
	case *bool:
		return "true or false"
	case *int:
		return "an integer"
	case *float64:
		return "a number"
	case *time.Duration:
		return `a duration string such as "5s"`
	case *[]string:
		return "an array of strings"
	default:
		return "an unsupported type"
	}
}
