package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testHostKey is a syntactically valid ed25519 public key line.
const testHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl relay"

func TestLoadRejectsInvalidValueNamingKeyAndLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
		key  string
		msg  string // the whole message after "key: "
	}{
		{"empty data dir", `data_dir = ""`, 1, "data_dir", `must not be empty`},
		{"unknown log level", "[log]\nlevel = \"verbose\"", 2, "log.level", `unsupported value "verbose" (want debug, info, warn, error)`},
		{"unknown log format", "[log]\n\nformat = \"xml\"", 3, "log.format", `unsupported value "xml" (want text, json)`},
		{"api listen without port", "[api]\nlisten = \"8443\"", 2, "api.listen", `invalid address "8443": want host:port`},
		{"api listen port too big", "[api]\nlisten = \":70000\"", 2, "api.listen", `invalid address ":70000": port must be a number from 0 to 65535`},
		{"api listen port by name", "[api]\nlisten = \":https\"", 2, "api.listen", `invalid address ":https": port must be a number from 0 to 65535`},
		{"api cert without key", "[api]\ncert_file = \"c.pem\"", 2, "api.cert_file", `set without api.key_file (give both or neither)`},
		{"api key without cert", "[api]\nkey_file = \"k.pem\"", 2, "api.key_file", `set without api.cert_file (give both or neither)`},
		{"zero command timeout", "[api]\ncommand_timeout = \"0s\"", 2, "api.command_timeout", `must be a positive duration, got 0s`},
		{"negative token ttl", "[api]\ntoken_ttl = \"-1h\"", 2, "api.token_ttl", `must be a positive duration, got -1h0m0s`},
		{"zero rate limit", "[api]\nrate_limit = 0", 2, "api.rate_limit", `must be a positive number of requests per second, got 0`},
		{"nan rate limit", "[api]\nrate_limit = nan", 2, "api.rate_limit", `must be a positive number of requests per second, got NaN`},
		{"infinite rate limit", "[api]\nrate_limit = inf", 2, "api.rate_limit", `must be a positive number of requests per second, got +Inf`},
		{"zero burst", "[api]\nrate_burst = 0", 2, "api.rate_burst", `must be at least 1, got 0`},
		{"unsupported broker scheme", "[mqtt]\nbroker = \"foo://x\"", 2, "mqtt.broker", `unsupported scheme "foo" (want tcp, ssl, ws, wss, mqtt, mqtts; or empty for the embedded broker, or auto)`},
		{"broker without scheme", "[mqtt]\nbroker = \"192.168.1.2:1883\"", 2, "mqtt.broker", `invalid broker URL "192.168.1.2:1883": want scheme://host:port such as "tcp://192.168.1.10:1883" (want tcp, ssl, ws, wss, mqtt, mqtts; or empty for the embedded broker, or auto)`},
		{"broker without host", "[mqtt]\nbroker = \"tcp://:1883\"", 2, "mqtt.broker", `broker URL "tcp://:1883" has no host`},
		{"broker bad port", "[mqtt]\nbroker = \"tcp://b:99999\"", 2, "mqtt.broker", `broker URL "tcp://b:99999": port must be a number from 0 to 65535`},
		{"embedded broker listen", "[mqtt]\nlisten = \"localhost\"", 2, "mqtt.listen", `invalid address "localhost": want host:port`},
		{"mqtt key without cert", "[mqtt]\nkey_file = \"k\"", 2, "mqtt.key_file", `set without mqtt.cert_file (give both or neither)`},
		{"client id with NUL", "[mqtt]\nclient_id = \"a\\u0000b\"", 2, "mqtt.client_id", `must be UTF-8 text without NUL characters`},
		{"prefix with wildcard", "[mqtt]\ndiscovery_prefix = \"ha/#\"", 2, "mqtt.discovery_prefix", `invalid MQTT topic level "ha/#" (want one non-empty level without /, + or #)`},
		{"empty prefix", "[mqtt]\ndiscovery_prefix = \"\"", 2, "mqtt.discovery_prefix", `invalid MQTT topic level "" (want one non-empty level without /, + or #)`},
		{"empty interface name", "[mdns]\ninterfaces = [\"eth0\", \"\"]", 2, "mdns.interfaces", `invalid interface name ""`},
		{"malformed service", "[mdns]\nservices = [\"_http._tcp\", \"http\"]", 2, "mdns.services", `invalid service type "http" (want _name._tcp or _name._udp)`},
		{"service with wrong protocol", "[mdns]\nservices = [\"_http._sctp\"]", 2, "mdns.services", `invalid service type "_http._sctp" (want _name._tcp or _name._udp)`},
		{"zero poll interval", "[drivers]\npoll_interval = \"0s\"", 2, "drivers.poll_interval", `must be a positive duration, got 0s`},
		{"coalesce window too long", "[store]\ncoalesce_window = \"11s\"", 2, "store.coalesce_window", `must be between 0 (no coalescing) and 10s, got 11s`},
		{"negative coalesce window", "[store]\ncoalesce_window = \"-1ms\"", 2, "store.coalesce_window", `must be between 0 (no coalescing) and 10s, got -1ms`},
		{"flush interval too long", "[store]\nflush_interval = \"2h\"", 2, "store.flush_interval", `must be between 0 (commit every coalescing window) and 1h0m0s, got 2h0m0s`},
		{"negative flush interval", "[store]\nflush_interval = \"-1s\"", 2, "store.flush_interval", `must be between 0 (commit every coalescing window) and 1h0m0s, got -1s`},
		{"flush bound too small", "[store]\nflush_max_pending = 99", 2, "store.flush_max_pending", `must be between 100 and 1000000, got 99`},
		{"zero notify max age", "[notify]\nmax_age = \"0s\"", 2, "notify.max_age", `must be a positive duration, got 0s`},
		{"relay without host", "[tunnel]\nrelay = \":22\"\nremote_listen = \"127.0.0.1:9000\"\naccept_new = true", 2, "tunnel.relay", `invalid address ":22": the host is missing`},
		{"relay without remote listen", "[tunnel]\nrelay = \"relay.example:22\"\naccept_new = true", 2, "tunnel.remote_listen", `required when tunnel.relay is set (host:port the relay listens on for this hub)`},
		{"relay without host key", "\n[tunnel]\nrelay = \"relay.example:22\"\nremote_listen = \"127.0.0.1:9000\"", 3, "tunnel.host_key", `required when tunnel.relay is set, to pin the relay's key (or set tunnel.accept_new = true to trust it on first connection)`},
		{"relay with empty user", "[tunnel]\nrelay = \"r:22\"\nremote_listen = \"127.0.0.1:9000\"\naccept_new = true\nuser = \"\"", 5, "tunnel.user", `must not be empty when tunnel.relay is set`},
		{"remote listen without port", "[tunnel]\nremote_listen = \"127.0.0.1\"", 2, "tunnel.remote_listen", `invalid address "127.0.0.1": want host:port`},
		{"public url not https", "[tunnel]\npublic_url = \"http://hub.example\"", 2, "tunnel.public_url", `want an https URL with a host, such as "https://hub-1.relay.example", got "http://hub.example"`},
		{"public url without host", "[tunnel]\npublic_url = \"https://\"", 2, "tunnel.public_url", `want an https URL with a host, such as "https://hub-1.relay.example", got "https://"`},
		{"two host keys", "[tunnel]\nhost_key = \"\"\"\n" + testHostKey + "\n" + testHostKey + "\"\"\"", 2, "tunnel.host_key", `want exactly one public key line, got several`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadDoc(t, tt.doc)
			wantErrLine(t, err, fmt.Sprintf("config: %s:%d: %s: %s", path, tt.line, tt.key, tt.msg))
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != tt.key {
				t.Errorf("errors.As(*Error) key = %v, want %q", ce, tt.key)
			}
		})
	}
}

func TestLoadRejectsMalformedHostKey(t *testing.T) {
	_, path, err := loadDoc(t, "[tunnel]\nhost_key = \"ssh-ed25519 not-base64!\"")
	want := fmt.Sprintf("config: %s:2: tunnel.host_key: want one public key line in authorized_keys format", path)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want prefix %q", err, want)
	}
}

func TestLoadAcceptsValidTunnel(t *testing.T) {
	c, _, err := loadDoc(t, `
[tunnel]
relay = "relay.example:22"
host_key = "`+testHostKey+`"
remote_listen = "127.0.0.1:9000"
public_url = "https://hub-1.relay.example"
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tunnel.Relay != "relay.example:22" || c.Tunnel.HostKey != testHostKey || c.Tunnel.PublicURL != "https://hub-1.relay.example" {
		t.Errorf("tunnel = %+v", c.Tunnel)
	}
}

func TestLoadAcceptsBrokerForms(t *testing.T) {
	for _, broker := range []string{"", "auto", "tcp://10.0.0.2:1883", "mqtts://broker.lan", "ws://[fe80::1]:9001/mqtt", "SSL://b:8883"} {
		t.Run(broker, func(t *testing.T) {
			c, err := Load("", []string{"HUBAGENT_MQTT_BROKER=" + broker}, Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			if c.MQTT.Broker != broker {
				t.Errorf("broker = %q, want %q", c.MQTT.Broker, broker)
			}
		})
	}
}

func TestValidateReportsMissingHostKeyAtRelayLineWhenUnset(t *testing.T) {
	// The host key was never written, so the error points at the relay line
	// that made it necessary.
	_, path, err := loadDoc(t, "[tunnel]\nremote_listen = \"127.0.0.1:9000\"\nrelay = \"r:22\"")
	wantErrLine(t, err, fmt.Sprintf("config: %s:3: tunnel.host_key: required when tunnel.relay is set, to pin the relay's key (or set tunnel.accept_new = true to trust it on first connection)", path))
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Log.Level = "loud"
	c.API.RateBurst = 0
	err := c.Validate()
	wantErrLine(t, err, `config: log.level: unsupported value "loud" (want debug, info, warn, error)`)
	wantErrLine(t, err, `config: api.rate_burst: must be at least 1, got 0`)
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}
