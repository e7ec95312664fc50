package main

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/metrics"
)

// discoveredMQTTRoute lists the discovery configs seen (hubagent discovered).
const discoveredMQTTRoute = "/v1/discovered/mqtt"

// mqttLink is the MQTT client as the agent runs it.
type mqttLink struct {
	mq *localbus.MQTT
}

// newMQTTLink starts the MQTT client on url (the configured broker, or the
// embedded or found one; for "auto" mDNS later calls mq.SetBroker) and
// registers its metrics. It does not wait for the broker: devices are
// served from the store meanwhile.
func newMQTTLink(cfg *config.Config, hubID string, h *hub.Hub, url string, embedded bool, m *metrics.Metrics, log *slog.Logger) (*mqttLink, error) {
	mq, err := localbus.NewMQTT(localbus.MQTTOptions{
		Hub: h, HubID: hubID, Broker: url,
		Username: cfg.MQTT.Username, Password: cfg.MQTT.Password,
		CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile,
		ClientID: cfg.MQTT.ClientID, DiscoveryPrefix: cfg.MQTT.DiscoveryPrefix, EmbeddedBroker: embedded, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	m.Gauge("hubagent_mqtt_connected", "1 while connected to the MQTT broker, else 0.", func() float64 {
		if mq.Stats().Connected {
			return 1
		}
		return 0
	})
	m.Counter("hubagent_mqtt_messages_total", "MQTT messages received.", func() float64 { return float64(mq.Stats().Messages) })
	m.Counter("hubagent_mqtt_discovery_refused_total", "Home Assistant discovery configs refused (invalid or over the entity limit).",
		func() float64 { return float64(mq.Stats().Refused) })
	mq.Start()
	return &mqttLink{mq: mq}, nil
}

// addRoutes adds the MQTT routes of the local API to routes (made when
// nil) and returns it.
func (l *mqttLink) addRoutes(routes map[string]http.Handler) map[string]http.Handler {
	if routes == nil {
		routes = map[string]http.Handler{}
	}
	routes["GET "+discoveredMQTTRoute] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(l.mq.Discovered())
	})
	return routes
}

// close says "offline" to the broker and disconnects.
func (l *mqttLink) close() { l.mq.Close() }
