package mdns

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
)

// AgentService is the service type the agent advertises itself as.
const AgentService = "_hubagent._tcp"

// AdvertiseOptions describe the agent's own announcement.
type AdvertiseOptions struct {
	Instance string // instance name, such as "hubagent 1a2b3c"
	Port     int    // the partner API's port
	HubID    string
	Version  string
	// Host is the host label the SRV record points at (".local." is
	// added). Empty means "hubagent-" and the first 8 characters of HubID:
	// a name of the agent's own, so it never contends with the name avahi
	// or the system publishes for the machine.
	Host string
}

// AgentTXT is the TXT record of the agent's announcement.
func AgentTXT(hubID, version string) []string {
	return []string{"id=" + hubID, "ver=" + version, "api=/cic/v1"}
}

// check validates the options and fills in the host label.
func (o *AdvertiseOptions) check() error {
	if o.Port <= 0 || o.Port > 65535 {
		return fmt.Errorf("mdns: advertise: bad port %d", o.Port)
	}
	if o.Instance == "" || len(o.Instance) > 56 {
		// 63 bytes per label, less room for a " (99)" on conflicts.
		return fmt.Errorf("mdns: advertise: instance name must be 1 to 56 bytes, got %d", len(o.Instance))
	}
	for _, s := range AgentTXT(o.HubID, o.Version) {
		if len(s) > 255 {
			return errors.New("mdns: advertise: hub id or version too long for a TXT string")
		}
	}
	if o.Host == "" {
		id := o.HubID
		if len(id) > 8 {
			id = id[:8]
		}
		o.Host = "hubagent-" + id
	}
	o.Host = hostLabel(o.Host)
	return nil
}

// hostLabel makes a DNS host label: lower-case letters, digits and "-".
func hostLabel(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
		if b.Len() == 60 {
			break
		}
	}
	if b.Len() == 0 {
		return "hubagent"
	}
	return b.String()
}

// escapeLabel writes a raw label in presentation form.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `.`, `\.`).Replace(s)
}

// canonical returns a name as dnsmsg spells it after unpacking, so that
// names heard on the wire compare equal to ours (case aside).
func canonical(name string) (string, error) {
	m := new(dnsmsg.Msg)
	m.Question = []dnsmsg.Question{{Name: name, Qtype: dnsmsg.TypePTR, Qclass: dnsmsg.ClassINET}}
	buf, err := m.Pack()
	if err != nil {
		return "", fmt.Errorf("mdns: name %q: %w", name, err)
	}
	if err := m.Unpack(buf); err != nil {
		return "", fmt.Errorf("mdns: name %q: %w", name, err)
	}
	return m.Question[0].Name, nil
}
