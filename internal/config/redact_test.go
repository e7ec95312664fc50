package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestRedactedHidesSecretsAndKeepsOriginal(t *testing.T) {
	c := Default()
	c.MQTT.Password = "mqtt-secret"
	c.Drivers.ShellyPassword = "shelly-secret"
	c.MQTT.Username = "user"

	r := c.Redacted()
	if r.MQTT.Password != "***" || r.Drivers.ShellyPassword != "***" {
		t.Errorf("secrets not replaced: %q, %q", r.MQTT.Password, r.Drivers.ShellyPassword)
	}
	if r.MQTT.Username != "user" {
		t.Errorf("username = %q, want it kept", r.MQTT.Username)
	}
	if c.MQTT.Password != "mqtt-secret" || c.Drivers.ShellyPassword != "shelly-secret" {
		t.Error("Redacted changed the original")
	}
	r.MDNS.Services[0] = "_changed._tcp"
	if c.MDNS.Services[0] == "_changed._tcp" {
		t.Error("Redacted shares slices with the original")
	}
}

func TestRedactedLeavesEmptySecretsEmpty(t *testing.T) {
	if r := Default().Redacted(); r.MQTT.Password != "" || r.Drivers.ShellyPassword != "" {
		t.Errorf("empty secrets shown as set: %q, %q", r.MQTT.Password, r.Drivers.ShellyPassword)
	}
}

func TestStringNeverRevealsSecrets(t *testing.T) {
	c := Default()
	c.MQTT.Password = "mqtt-secret"
	c.Drivers.ShellyPassword = "shelly-secret"
	for _, s := range []string{c.String(), c.Redacted().String()} {
		if strings.Contains(s, "secret") {
			t.Errorf("String reveals a secret:\n%s", s)
		}
		if !strings.Contains(s, `password = "***"`) {
			t.Errorf("String does not mark the password as set:\n%s", s)
		}
	}
}

func TestStringLoadsBackToTheSameConfig(t *testing.T) {
	c := Default()
	c.DataDir = "/var/lib/hub\"agent"
	c.Log.Level = "debug"
	c.API.RateLimit = 2.5
	c.MDNS.Interfaces = []string{"br-lan", "eth0"}
	c.MQTT.ClientID = "tab\there"
	c.Tunnel.Relay = "relay.example:22"
	c.Tunnel.RemoteListen = "127.0.0.1:9000"
	c.Tunnel.AcceptNew = true
	c.Tunnel.KeyFile = "/k"

	got, path, err := loadDoc(t, c.String())
	if err != nil {
		t.Fatalf("String output does not load: %v\n%s", err, c.String())
	}
	c.File = path
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\n%v\nwant\n%v", got, c)
	}
}
