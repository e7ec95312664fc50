package main

import (
	"log/slog"
	"net/http"

	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/metrics"
)

// mqttLink is the MQTT client as the agent runs it.
type mqttLink struct {
	mq *localbus.MQTT
}

// newMQTTLink makes the MQTT client for url (the configured broker, or the
// embedded or found one; for "auto" mDNS later calls mq.SetBroker; local is
// the embedded broker, nil when another is used) and registers its
// metrics. It runs as one of the drivers (wire_drivers.go); it does not
// wait for the broker: devices are served from the store meanwhile.
func newMQTTLink(cfg *config.Config, hubID string, h *hub.Hub, url string, embedded bool,
	local localbus.LocalBroker, m *metrics.Metrics, log *slog.Logger) (*mqttLink, error) {
	mq, err := localbus.NewMQTT(localbus.MQTTOptions{
		Hub: h, HubID: hubID, Broker: url,
		Username: cfg.MQTT.Username, Password: cfg.MQTT.Password,
		CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile,
		ClientID: cfg.MQTT.ClientID, DiscoveryPrefix: cfg.MQTT.DiscoveryPrefix, EmbeddedBroker: embedded, Logger: log,
		MaxEntitiesPerDevice: cfg.MQTT.MaxEntitiesPerDevice, MaxStatePayload: cfg.MQTT.MaxStatePayload,
		StateQueueBytes: cfg.MQTT.StateQueueBytes, Local: local,
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
	m.Counter("hubagent_mqtt_state_dropped_total", "MQTT state messages dropped for being over mqtt.max_state_payload.",
		func() float64 { return float64(mq.Stats().StateDropped) })
	return &mqttLink{mq: mq}, nil
}

// addRoutes adds the MQTT routes of the local API to routes (made when
// nil) and returns it.
func (l *mqttLink) addRoutes(routes map[string]http.Handler) map[string]http.Handler {
	if routes == nil {
		routes = map[string]http.Handler{}
	}
	routes[localapi.Pattern(http.MethodGet, localapi.PathDiscoveredMQTT)] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		localapi.WriteJSON(w, http.StatusOK, l.mq.Discovered())
	})
	return routes
}

// brokerLimits are the embedded broker's limits from the configuration.
func brokerLimits(cfg *config.Config) localbus.BrokerLimits {
	return localbus.BrokerLimits{MaxPacketSize: cfg.MQTT.MaxPacketSize, MaxClients: cfg.MQTT.MaxClients,
		MaxPendingWrites: cfg.MQTT.MaxPendingWrites, MaxRetained: cfg.MQTT.MaxRetained, MaxRetainedBytes: cfg.MQTT.MaxRetainedBytes}
}

// registerBrokerMetrics exposes the embedded broker's counters.
func registerBrokerMetrics(m *metrics.Metrics, b *localbus.Broker) {
	m.Gauge("hubagent_broker_clients", "Clients connected to the embedded MQTT broker.", func() float64 { return float64(b.Stats().Clients) })
	m.Gauge("hubagent_broker_retained", "Retained messages held by the embedded MQTT broker.",
		func() float64 { return float64(b.Stats().Retained) })
	m.Gauge("hubagent_broker_retained_bytes", "Bytes (topics and payloads) of the retained messages held by the embedded MQTT broker.",
		func() float64 { return float64(b.Stats().RetainedBytes) })
	m.Counter("hubagent_broker_retain_refused_total", "Retained messages the embedded MQTT broker did not keep (over mqtt.max_retained or mqtt.max_retained_bytes).",
		func() float64 { return float64(b.Stats().RetainRefused) })
	m.Counter("hubagent_broker_sessions_refused_total", "Clients the embedded MQTT broker refused because it already remembers twice mqtt.max_clients sessions.",
		func() float64 { return float64(b.Stats().SessionsRefused) })
	m.Counter("hubagent_broker_offline_dropped_total", "Messages the embedded MQTT broker did not queue for a disconnected session past its budget.",
		func() float64 { return float64(b.Stats().OfflineDropped) })
	m.Counter("hubagent_broker_messages_dropped_total", "Messages the embedded MQTT broker dropped for clients with mqtt.max_pending_writes packets waiting.",
		func() float64 { return float64(b.Stats().MessagesDropped) })
}
