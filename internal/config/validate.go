package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// Validate reports every invalid value in c as an *Error naming its key, or
// several joined with errors.Join; it returns nil when c is usable. Load
// calls it and adds where each value came from.
func (c *Config) Validate() error {
	if problems := c.check(); len(problems) > 0 {
		return joinErrors(problems)
	}
	return nil
}

// check returns one *Error per problem, without sources.
func (c *Config) check() []*Error {
	var v validator
	if c.DataDir == "" {
		v.fail("data_dir", "must not be empty")
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")

	v.address("api.listen", c.API.Listen, false)
	v.pair("api.cert_file", c.API.CertFile, "api.key_file", c.API.KeyFile)
	v.positive("api.command_timeout", c.API.CommandTimeout)
	v.positive("api.token_ttl", c.API.TokenTTL)
	if !(c.API.RateLimit > 0) || math.IsInf(c.API.RateLimit, 0) {
		v.fail("api.rate_limit", fmt.Sprintf("must be a positive number of requests per second, got %v", c.API.RateLimit))
	}
	if c.API.RateBurst < 1 {
		v.fail("api.rate_burst", fmt.Sprintf("must be at least 1, got %d", c.API.RateBurst))
	}
	v.positive("api.idempotency_window", c.API.IdempotencyWindow)
	v.atLeast("api.idempotency_max_bytes", c.API.IdempotencyMaxBytes, 64<<10)
	v.positive("api.audit_max_age", c.API.AuditMaxAge)
	v.atLeast("api.audit_max_bytes", c.API.AuditMaxBytes, 64<<10)

	v.broker(c.MQTT.Broker)
	v.address("mqtt.listen", c.MQTT.Listen, false)
	v.pair("mqtt.cert_file", c.MQTT.CertFile, "mqtt.key_file", c.MQTT.KeyFile)
	if !utf8.ValidString(c.MQTT.ClientID) || strings.ContainsRune(c.MQTT.ClientID, 0) {
		v.fail("mqtt.client_id", "must be UTF-8 text without NUL characters")
	}
	v.topicLevel("mqtt.discovery_prefix", c.MQTT.DiscoveryPrefix)
	v.mqttLimits(&c.MQTT)

	for _, name := range c.MDNS.Interfaces {
		if name == "" || strings.ContainsAny(name, " \t\r\n/") {
			v.fail("mdns.interfaces", fmt.Sprintf("invalid interface name %q", name))
		}
	}
	for _, s := range c.MDNS.Services {
		if !isServiceType(s) {
			v.fail("mdns.services", fmt.Sprintf("invalid service type %q (want _name._tcp or _name._udp)", s))
		}
	}

	v.positive("drivers.poll_interval", c.Drivers.PollInterval)
	if w := c.Store.CoalesceWindow; w < 0 || w > maxCoalesceWindow {
		v.fail("store.coalesce_window", fmt.Sprintf("must be between 0 (no coalescing) and %v, got %v", maxCoalesceWindow, w))
	}
	if f := c.Store.FlushInterval; f < 0 || f > maxFlushInterval {
		v.fail("store.flush_interval", fmt.Sprintf("must be between 0 (commit every coalescing window) and %v, got %v", maxFlushInterval, f))
	}
	if k := c.Store.FlushMaxPending; k < 100 || k > maxFlushPending {
		v.fail("store.flush_max_pending", fmt.Sprintf("must be between 100 and %d, got %d", maxFlushPending, k))
	}
	v.positive("notify.max_age", c.Notify.MaxAge)
	v.atLeast("notify.max_subscriptions_per_grant", c.Notify.MaxSubscriptionsPerGrant, 1)
	v.atLeast("notify.max_subscriptions_per_partner", c.Notify.MaxSubscriptionsPerPartner, 1)
	v.atLeast("notify.max_pending_per_partner", c.Notify.MaxPendingPerPartner, 100)
	v.atLeast("store.min_free_bytes", c.Store.MinFreeBytes, 0)

	v.tunnel(&c.Tunnel)
	return v.errs
}

// tunnel checks the tunnel section; most of it only matters when a relay is
// set, but values that are set are checked either way.
func (v *validator) tunnel(t *Tunnel) {
	if t.Relay != "" {
		v.address("tunnel.relay", t.Relay, true)
		if t.User == "" {
			v.failRelated("tunnel.user", "tunnel.relay", "must not be empty when tunnel.relay is set")
		}
		if t.RemoteListen == "" {
			v.failRelated("tunnel.remote_listen", "tunnel.relay", "required when tunnel.relay is set (host:port the relay listens on for this hub)")
		}
		if t.HostKey == "" && !t.AcceptNew {
			v.failRelated("tunnel.host_key", "tunnel.relay", "required when tunnel.relay is set, to pin the relay's key (or set tunnel.accept_new = true to trust it on first connection)")
		}
		if t.KeyFile == "" {
			v.failRelated("tunnel.key_file", "tunnel.relay", "must not be empty when tunnel.relay is set")
		}
	}
	if t.RemoteListen != "" {
		v.address("tunnel.remote_listen", t.RemoteListen, false)
	}
	if t.HostKey != "" {
		if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(t.HostKey)); err != nil {
			v.fail("tunnel.host_key", "want one public key line in authorized_keys format, such as \"ssh-ed25519 AAAA... relay\": "+err.Error())
		} else if len(strings.TrimSpace(string(rest))) > 0 {
			v.fail("tunnel.host_key", "want exactly one public key line, got several")
		}
	}
	if t.PublicURL != "" {
		u, err := url.Parse(t.PublicURL)
		switch {
		case err != nil:
			v.fail("tunnel.public_url", fmt.Sprintf("invalid URL %q", t.PublicURL))
		case u.Scheme != "https" || u.Host == "" || u.Hostname() == "":
			v.fail("tunnel.public_url", fmt.Sprintf("want an https URL with a host, such as \"https://hub-1.relay.example\", got %q", t.PublicURL))
		}
	}
}

// mqttSchemes are the broker URL schemes the MQTT client understands.
func mqttSchemes() []string { return []string{"tcp", "ssl", "ws", "wss", "mqtt", "mqtts"} }

// broker checks mqtt.broker: empty, "auto" or a URL with a known scheme and
// a host.
func (v *validator) broker(b string) {
	if b == "" || b == "auto" {
		return
	}
	const want = "want tcp, ssl, ws, wss, mqtt, mqtts; or empty for the embedded broker, or auto"
	if !strings.Contains(b, "://") {
		v.fail("mqtt.broker", fmt.Sprintf("invalid broker URL %q: want scheme://host:port such as \"tcp://192.168.1.10:1883\" (%s)", b, want))
		return
	}
	u, err := url.Parse(b)
	switch {
	case err != nil || u.Scheme == "":
		v.fail("mqtt.broker", fmt.Sprintf("invalid broker URL %q (%s)", b, want))
	case !slices.Contains(mqttSchemes(), strings.ToLower(u.Scheme)):
		v.fail("mqtt.broker", fmt.Sprintf("unsupported scheme %q (%s)", u.Scheme, want))
	case u.Hostname() == "":
		v.fail("mqtt.broker", fmt.Sprintf("broker URL %q has no host", b))
	case u.Port() != "" && !validPort(u.Port()):
		v.fail("mqtt.broker", fmt.Sprintf("broker URL %q: port must be a number from 0 to 65535", b))
	}
}

// validator collects problems.
type validator struct {
	errs []*Error
}

func (v *validator) fail(key, msg string) {
	v.errs = append(v.errs, &Error{Key: key, Msg: msg})
}

func (v *validator) failRelated(key, related, msg string) {
	v.errs = append(v.errs, &Error{Key: key, Msg: msg, related: related})
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	if !slices.Contains(allowed, val) {
		v.fail(key, fmt.Sprintf("unsupported value %q (want %s)", val, strings.Join(allowed, ", ")))
	}
}

// atLeast refuses an integer below min (limits below it would make the
// feature useless, not safer).
func (v *validator) atLeast(key string, n, min int) {
	if n < min {
		v.fail(key, fmt.Sprintf("must be at least %d, got %d", min, n))
	}
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.fail(key, fmt.Sprintf("must be a positive duration, got %v", d))
	}
}

// pair checks that two files, such as a certificate and its key, are given
// together or not at all. The problem is reported on the key that is set.
func (v *validator) pair(keyA, a, keyB, b string) {
	switch {
	case a != "" && b == "":
		v.failRelated(keyA, keyB, "set without "+keyB+" (give both or neither)")
	case a == "" && b != "":
		v.failRelated(keyB, keyA, "set without "+keyA+" (give both or neither)")
	}
}

// address checks a host:port address with a numeric port; needHost rejects
// an empty host such as ":8443".
func (v *validator) address(key, addr string, needHost bool) {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		v.fail(key, fmt.Sprintf("invalid address %q: want host:port", addr))
	case !validPort(port):
		v.fail(key, fmt.Sprintf("invalid address %q: port must be a number from 0 to 65535", addr))
	case needHost && host == "":
		v.fail(key, fmt.Sprintf("invalid address %q: the host is missing", addr))
	}
}

// topicLevel checks one MQTT topic level: non-empty, no separator, no
// wildcard and no NUL.
func (v *validator) topicLevel(key, s string) {
	if s == "" || strings.ContainsAny(s, "/+#\x00") || !utf8.ValidString(s) {
		v.fail(key, fmt.Sprintf("invalid MQTT topic level %q (want one non-empty level without /, + or #)", s))
	}
}

// validPort reports whether p is a decimal number from 0 to 65535.
func validPort(p string) bool {
	if p == "" || strings.TrimLeft(p, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n <= 65535
}

// isServiceType reports whether s looks like a DNS-SD service type such as
// "_http._tcp".
func isServiceType(s string) bool {
	name, proto, ok := strings.Cut(s, ".")
	if !ok || (proto != "_tcp" && proto != "_udp") {
		return false
	}
	name, ok = strings.CutPrefix(name, "_")
	// RFC 6335 service names: 1-15 letters, digits and inner hyphens.
	if !ok || name == "" || len(name) > 15 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
