package mdns

import (
	"fmt"
	"net"

	"github.com/grandcat/zeroconf"
)

// AgentService is the service type the agent advertises itself as.
const AgentService = "_hubagent._tcp"

// AdvertiseOptions describe the agent's own announcement.
type AdvertiseOptions struct {
	Instance   string // instance name, such as "hubagent 1a2b3c"
	Port       int    // the partner API's port
	HubID      string
	Version    string
	Interfaces []string // as Options.Interfaces
}

// Advertiser announces the agent until Close.
type Advertiser struct{ srv *zeroconf.Server }

// AgentTXT is the TXT record of the agent's announcement.
func AgentTXT(hubID, version string) []string {
	return []string{"id=" + hubID, "ver=" + version, "api=/cic/v1"}
}

// Advertise announces the agent as _hubagent._tcp with TXT id, ver and api,
// so an installer's phone finds it.
func Advertise(opts AdvertiseOptions) (*Advertiser, error) {
	if opts.Port <= 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("mdns: advertise: bad port %d", opts.Port)
	}
	ifaces, err := Interfaces(opts.Interfaces)
	if err != nil {
		return nil, err
	}
	// zeroconf answers with the addresses of the interface a query came in
	// on; interfaces without an IPv4 address would only make it log.
	var usable []net.Interface
	for _, ifi := range ifaces {
		if hasIPv4(ifi) {
			usable = append(usable, ifi)
		}
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("mdns: advertise: no interface with an IPv4 address")
	}
	srv, err := zeroconf.Register(opts.Instance, AgentService, "local.", opts.Port,
		AgentTXT(opts.HubID, opts.Version), usable)
	if err != nil {
		return nil, fmt.Errorf("mdns: advertise: %w", err)
	}
	return &Advertiser{srv: srv}, nil
}

// Close withdraws the announcement with goodbye packets (TTL 0).
func (a *Advertiser) Close() {
	if a != nil && a.srv != nil {
		a.srv.Shutdown()
	}
}

func hasIPv4(ifi net.Interface) bool {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return true
		}
	}
	return false
}
