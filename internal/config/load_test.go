package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadWithNothingGivesDefaults(t *testing.T) {
	c, err := Load("", nil, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("got %+v\nwant %+v", c, Default())
	}
	if c.File != "" {
		t.Errorf("File = %q, want none read", c.File)
	}
}

func TestDefaultMatchesDocumentedValues(t *testing.T) {
	c := Default()
	checks := []struct {
		key       string
		got, want any
	}{
		{"data_dir", c.DataDir, "./hubagent-data"},
		{"api.listen", c.API.Listen, ":8443"},
		{"api.command_timeout", c.API.CommandTimeout, 5 * time.Second},
		{"api.rate_limit", c.API.RateLimit, 20.0},
		{"mqtt.broker", c.MQTT.Broker, ""},
		{"mqtt.listen", c.MQTT.Listen, "127.0.0.1:1883"},
		{"mqtt.discovery_prefix", c.MQTT.DiscoveryPrefix, "homeassistant"},
		{"mdns.services", len(c.MDNS.Services), 6},
		{"store.coalesce_window", c.Store.CoalesceWindow, 200 * time.Millisecond},
		{"store.flush_interval", c.Store.FlushInterval, 10 * time.Minute},
		{"store.flush_max_pending", c.Store.FlushMaxPending, 10000},
		{"tunnel.relay", c.Tunnel.Relay, ""},
		{"tunnel.key_file", c.Tunnel.KeyFile, filepath.Join("hubagent-data", "tunnel_ed25519")},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.key, ch.got, ch.want)
		}
	}
}

func TestLoadPrecedenceFileEnvFlag(t *testing.T) {
	path := writeConfig(t, `
data_dir = "/file/data"
[log]
level = "debug"
format = "json"
[mqtt]
broker = "tcp://file:1883"
listen = "127.0.0.1:1884"
`)
	tests := []struct {
		name      string
		env       []string
		flags     Overrides
		dataDir   string
		broker    string
		level     string
		source    string // Source of an error about mqtt.broker
		brokerSrc string
	}{
		{
			name:    "file over defaults",
			dataDir: "/file/data", broker: "tcp://file:1883", level: "debug",
		},
		{
			name:    "environment over file",
			env:     []string{"HUBAGENT_DATA_DIR=/env/data", "HUBAGENT_MQTT_BROKER=tcp://env:1883"},
			dataDir: "/env/data", broker: "tcp://env:1883", level: "debug",
		},
		{
			name:    "flags over environment",
			env:     []string{"HUBAGENT_DATA_DIR=/env/data", "HUBAGENT_MQTT_BROKER=tcp://env:1883", "HUBAGENT_LOG_LEVEL=warn"},
			flags:   Overrides{DataDir: "/flag/data", MQTTBroker: "auto"},
			dataDir: "/flag/data", broker: "auto", level: "warn",
		},
		{
			name:    "later environment entry wins",
			env:     []string{"HUBAGENT_LOG_LEVEL=warn", "HUBAGENT_LOG_LEVEL=error"},
			dataDir: "/file/data", broker: "tcp://file:1883", level: "error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(path, tt.env, tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tt.dataDir || c.MQTT.Broker != tt.broker || c.Log.Level != tt.level {
				t.Errorf("data_dir, broker, level = %q, %q, %q; want %q, %q, %q",
					c.DataDir, c.MQTT.Broker, c.Log.Level, tt.dataDir, tt.broker, tt.level)
			}
			if c.Log.Format != "json" || c.MQTT.Listen != "127.0.0.1:1884" {
				t.Errorf("untouched file values lost: format %q, listen %q", c.Log.Format, c.MQTT.Listen)
			}
			if c.File != path {
				t.Errorf("File = %q, want %q", c.File, path)
			}
		})
	}
}

func TestLoadErrorNamesWhereTheWinningValueCameFrom(t *testing.T) {
	path := writeConfig(t, "[mqtt]\nbroker = \"foo://file\"\n")
	const msg = `mqtt.broker: unsupported scheme "foo" (want tcp, ssl, ws, wss, mqtt, mqtts; or empty for the embedded broker, or auto)`
	tests := []struct {
		name  string
		env   []string
		flags Overrides
		want  string
	}{
		{"file", nil, Overrides{}, path + ":2: " + msg},
		{"environment", []string{"HUBAGENT_MQTT_BROKER=foo://env"}, Overrides{}, "HUBAGENT_MQTT_BROKER: " + msg},
		{"flag", nil, Overrides{MQTTBroker: "foo://flag"}, "flag --mqtt-broker: " + msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(path, tt.env, tt.flags)
			wantErrLine(t, err, "config: "+tt.want)
		})
	}
}

func TestLoadReadsFileNamedByEnvironmentOnlyWithoutPath(t *testing.T) {
	envFile := writeConfig(t, `data_dir = "/from/env/file"`)
	argFile := writeConfig(t, `data_dir = "/from/arg/file"`)
	env := []string{EnvConfig + "=" + envFile}

	c, err := Load("", env, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from/env/file" || c.File != envFile {
		t.Errorf("without path: data_dir %q file %q, want the HUBAGENT_CONFIG file", c.DataDir, c.File)
	}
	c, err = Load(argFile, env, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from/arg/file" || c.File != argFile {
		t.Errorf("with path: data_dir %q file %q, want the given file", c.DataDir, c.File)
	}
}

func TestLoadRejectsUnknownKeyWithLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // after "config: path:"
	}{
		{"typo in section", "[mqtt]\nbroker = \"\"\nbrokr = \"tcp://x:1\"", "3: mqtt.brokr: unknown key (did you mean mqtt.broker?)"},
		{"unknown top-level key", "\n\nfoo = 1", "3: foo: unknown key"},
		{"unknown section", "[log]\nlevel = \"info\"\n[mqt]\nbroker = \"\"", "3: mqt: unknown key (did you mean mqtt?)"},
		{"dotted key", "\nmqtt.brokr = \"x\"", "2: mqtt.brokr: unknown key (did you mean mqtt.broker?)"},
		{"inline table", "mqtt = { broker = \"\",\n  nope = 1 }", "2: mqtt.nope: unknown key"},
		{"quoted key with a dot", "\"mqtt.broker\" = \"auto\"", `1: "mqtt.broker": unknown key`},
		{"sub-table of a section", "[mqtt.tls]\nca = \"x\"", "1: mqtt.tls: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadDoc(t, tt.doc)
			wantErrLine(t, err, "config: "+path+":"+tt.want)
		})
	}
}

func TestLoadRejectsWrongTypeWithLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"integer for string", "[api]\nlisten = 8443", `2: api.listen: want a string, got integer 8443`},
		{"integer for duration", "[api]\ncommand_timeout = 5", `2: api.command_timeout: want a duration string such as "5s", got integer 5`},
		{"duration without unit", "[drivers]\npoll_interval = \"5\"", `2: drivers.poll_interval: invalid duration "5": want a number with a unit, such as "5s", "200ms" or "1h30m"`},
		{"string for bool", "[mdns]\nenabled = \"yes\"", `2: mdns.enabled: want true or false, got string "yes"`},
		{"float for integer", "[api]\nrate_burst = 1.5", `2: api.rate_burst: want an integer, got float 1.5`},
		{"string for list", "[mdns]\nservices = \"_http._tcp\"", `2: mdns.services: want an array of strings, got string "_http._tcp"`},
		{"number in list", "[mdns]\ninterfaces = [\"eth0\", 1]", `2: mdns.interfaces: element 1: want a string, got integer 1`},
		{"value for section", "\nmqtt = \"tcp://x:1\"", `2: mqtt: want a table ([mqtt]), got string "tcp://x:1"`},
		{"table for value", "[mqtt.broker]\nhost = \"x\"", `1: mqtt.broker: want a string, got a table`},
		{"array of tables for section", "[[api]]\nlisten = \":1\"", `1: api: want a table ([api]), got an array`},
		{"date for string", "data_dir = 2024-01-01", `1: data_dir: want a string, got a date/time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadDoc(t, tt.doc)
			wantErrLine(t, err, "config: "+path+":"+tt.want)
		})
	}
}

func TestLoadReportsAllFileProblemsInLineOrder(t *testing.T) {
	_, path, err := loadDoc(t, "zzz = 1\n[mqtt]\nbroker = 5\n[api]\naaa = 2\n")
	want := strings.Join([]string{
		"config: " + path + ":1: zzz: unknown key",
		"config: " + path + ":3: mqtt.broker: want a string, got integer 5",
		"config: " + path + ":5: api.aaa: unknown key",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
}

func TestLoadReportsSyntaxErrorLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
	}{
		{"missing value", "[log]\nlevel =\n", 2},
		{"unterminated string", "data_dir = \"x\n[log]", 1},
		{"duplicate key", "[log]\nlevel = \"info\"\n\nlevel = \"debug\"", 4},
		{"duplicate table", "[api]\n[log]\n[api]", 3},
		{"garbage", "\n\n\n!!", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadDoc(t, tt.doc)
			prefix := fmt.Sprintf("config: %s:%d: invalid TOML at column ", path, tt.line)
			if err == nil || !strings.HasPrefix(err.Error(), prefix) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line starting %q", err, prefix)
			}
		})
	}
}

func TestLoadReportsUnreadableFileInOneLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.toml")
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", missing, "config: cannot read " + missing + ": no such file or directory"},
		{"directory", dir, "config: cannot read " + dir + ": is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, nil, Overrides{})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("named by HUBAGENT_CONFIG", func(t *testing.T) {
		_, err := Load("", []string{EnvConfig + "=" + missing}, Overrides{})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Fatalf("got %v, want the file named", err)
		}
	})
	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads a file of mode 0000: run as another user to check the refusal")
		}
		p := writeConfig(t, "")
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, nil, Overrides{})
		if want := "config: cannot read " + p + ": permission denied"; err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
	})
}

func TestLoadParsesEnvironmentValues(t *testing.T) {
	c, err := Load("", []string{
		"PATH=/bin",
		"HUBAGENT_MDNS_INTERFACES= br-lan, eth0 ,,",
		"HUBAGENT_MDNS_SERVICES=",
		"HUBAGENT_MDNS_ENABLED=0",
		"HUBAGENT_TUNNEL_ACCEPT_NEW=true",
		"HUBAGENT_API_RATE_LIMIT=2.5",
		"HUBAGENT_API_RATE_BURST=7",
		"HUBAGENT_STORE_COALESCE_WINDOW=0s",
		"HUBAGENT_MQTT_PASSWORD=s3cret",
	}, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.MDNS.Interfaces, c.MDNS.Services, c.MDNS.Enabled, c.Tunnel.AcceptNew, c.API.RateLimit, c.API.RateBurst, c.Store.CoalesceWindow, c.MQTT.Password}
	want := []any{[]string{"br-lan", "eth0"}, []string{}, false, true, 2.5, 7, time.Duration(0), "s3cret"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLoadRejectsBadEnvironmentNamingVariable(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"HUBAGENT_MDNS_ENABLED=yes", `config: HUBAGENT_MDNS_ENABLED: mdns.enabled: want true, false, 1 or 0, got "yes"`},
		{"HUBAGENT_API_RATE_BURST=many", `config: HUBAGENT_API_RATE_BURST: api.rate_burst: want an integer, got "many"`},
		{"HUBAGENT_API_RATE_LIMIT=", `config: HUBAGENT_API_RATE_LIMIT: api.rate_limit: want a number, got ""`},
		{"HUBAGENT_API_TOKEN_TTL=1 hour", `config: HUBAGENT_API_TOKEN_TTL: api.token_ttl: invalid duration "1 hour": want a number with a unit, such as "5s", "200ms" or "1h30m"`},
		{"HUBAGENT_LOG_LEVEL=loud", `config: HUBAGENT_LOG_LEVEL: log.level: unsupported value "loud" (want debug, info, warn, error)`},
		{"HUBAGENT_MQTT_BROKR=auto", `config: HUBAGENT_MQTT_BROKR: unknown environment variable (did you mean HUBAGENT_MQTT_BROKER?)`},
		{"HUBAGENT_NONSENSE=1", `config: HUBAGENT_NONSENSE: unknown environment variable`},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, err := Load("", []string{tt.env}, Overrides{})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestLoadRejectsBadFlagNamingFlag(t *testing.T) {
	_, err := Load("", nil, Overrides{APIListen: "8443", LogFormat: "xml"})
	wantErrLine(t, err, `config: flag --api-listen: api.listen: invalid address "8443": want host:port`)
	wantErrLine(t, err, `config: flag --log-format: log.format: unsupported value "xml" (want text, json)`)
}

func TestEnvironmentNamesAreUniqueAndDocumented(t *testing.T) {
	seen := make(map[string]string)
	for _, f := range schema() {
		n := f.envName()
		if other, dup := seen[n]; dup {
			t.Errorf("%s and %s share %s", other, f.key, n)
		}
		seen[n] = f.key
	}
	for _, n := range []string{"HUBAGENT_DATA_DIR", "HUBAGENT_API_LISTEN", "HUBAGENT_MQTT_BROKER", "HUBAGENT_MQTT_PASSWORD", "HUBAGENT_LOG_LEVEL", "HUBAGENT_TUNNEL_RELAY"} {
		if _, ok := seen[n]; !ok {
			t.Errorf("no key for %s", n)
		}
	}
}

func TestTunnelKeyFileFollowsDataDirUnlessSet(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"derived", `data_dir = "/var/lib/hubagent"`, filepath.Join("/var/lib/hubagent", "tunnel_ed25519")},
		{"empty means derived", "data_dir = \"/d\"\n[tunnel]\nkey_file = \"\"", filepath.Join("/d", "tunnel_ed25519")},
		{"explicit", "data_dir = \"/d\"\n[tunnel]\nkey_file = \"/etc/hubagent/key\"", "/etc/hubagent/key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadDoc(t, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Tunnel.KeyFile != tt.want {
				t.Errorf("key_file = %q, want %q", c.Tunnel.KeyFile, tt.want)
			}
		})
	}
	c, err := Load("", nil, Overrides{DataDir: "/flag"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/flag", "tunnel_ed25519"); c.Tunnel.KeyFile != want {
		t.Errorf("with --data: key_file = %q, want %q", c.Tunnel.KeyFile, want)
	}
}

func TestLoadKeepsRelativePathsAsGiven(t *testing.T) {
	c, _, err := loadDoc(t, "data_dir = \"data\"\n[api]\ncert_file = \"tls/c.pem\"\nkey_file = \"tls/k.pem\"")
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "data" || c.API.CertFile != "tls/c.pem" || c.API.KeyFile != "tls/k.pem" {
		t.Errorf("paths rewritten: %q %q %q", c.DataDir, c.API.CertFile, c.API.KeyFile)
	}
}
