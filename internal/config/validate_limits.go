package config

import (
	"fmt"
	"net"
)

// Bounds of the size limits: a packet must hold a 64 KiB discovery config
// with its topic; none may be so large that it stops being a limit on a
// 32-bit gateway.
const (
	minPacketSize = 64<<10 + 1<<10
	maxSizeLimit  = 1 << 30
)

// mqttLimits checks the broker and intake limits, and that an embedded
// broker reachable from the network does not take anonymous clients unless
// told to.
func (v *validator) mqttLimits(m *MQTT) {
	v.between("mqtt.max_packet_size", m.MaxPacketSize, minPacketSize, maxSizeLimit)
	v.between("mqtt.max_clients", m.MaxClients, 1, 1<<20)
	v.between("mqtt.max_pending_writes", m.MaxPendingWrites, 1, 65535)
	v.between("mqtt.max_retained", m.MaxRetained, 1, 1<<24)
	v.between("mqtt.max_retained_bytes", m.MaxRetainedBytes, 1, maxSizeLimit)
	v.between("mqtt.max_state_payload", m.MaxStatePayload, 1, maxSizeLimit)
	v.between("mqtt.state_queue_bytes", m.StateQueueBytes, 1, maxSizeLimit)
	v.between("mqtt.max_entities_per_device", m.MaxEntitiesPerDevice, 1, 1<<20)
	if m.StateQueueBytes > 0 && m.MaxStatePayload > m.StateQueueBytes {
		v.failRelated("mqtt.max_state_payload", "mqtt.state_queue_bytes",
			fmt.Sprintf("must not exceed mqtt.state_queue_bytes (%d), got %d", m.StateQueueBytes, m.MaxStatePayload))
	}
	embedded := m.Broker == "" || m.Broker == "auto"
	if embedded && m.Username == "" && !m.AllowAnonymous && !loopbackAddr(m.Listen) {
		v.failRelated("mqtt.listen", "mqtt.username", fmt.Sprintf("%q is reachable beyond loopback: set mqtt.username and "+
			"mqtt.password (anonymous clients are refused there), or mqtt.allow_anonymous = true", m.Listen))
	}
}

func (v *validator) between(key string, n, lo, hi int) {
	if n < lo || n > hi {
		v.fail(key, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, n))
	}
}

// loopbackAddr reports whether a listen address takes local clients only.
// An unparsable one is reported by the address check.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
