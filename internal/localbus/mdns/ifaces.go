package mdns

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
)

// SkippedInterface is an interface the default choice left out, and why.
type SkippedInterface struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Choice is the set of interfaces the mDNS stack browses and answers on.
type Choice struct {
	Interfaces []net.Interface
	// Skipped lists the up, non-loopback interfaces the default choice
	// (no names configured) left out; empty when names were configured.
	Skipped []SkippedInterface
}

// Names returns the chosen interfaces' names.
func (c Choice) Names() []string {
	out := make([]string, len(c.Interfaces))
	for i, ifi := range c.Interfaces {
		out[i] = ifi.Name
	}
	return out
}

// ChooseInterfaces resolves the configured interface names. Named
// interfaces must exist and be multicast-capable: the administrator chose
// them. With no names, every interface that is up, multicast-capable and
// not loopback is taken, except one that holds the IPv4 default route with
// a public address: that is the uplink, and the hub's name, address and
// partner-API port have no business there.
func ChooseInterfaces(names []string) (Choice, error) {
	if len(names) > 0 {
		var c Choice
		for _, n := range names {
			ifi, err := net.InterfaceByName(n)
			if err != nil {
				return Choice{}, fmt.Errorf("mdns: interface %s: %w", n, err)
			}
			if ifi.Flags&net.FlagMulticast == 0 {
				return Choice{}, fmt.Errorf("mdns: interface %s is not multicast-capable", n)
			}
			c.Interfaces = append(c.Interfaces, *ifi)
		}
		return c, nil
	}
	all, err := net.Interfaces()
	if err != nil {
		return Choice{}, fmt.Errorf("mdns: list interfaces: %w", err)
	}
	var cands []candidate
	for _, ifi := range all {
		cands = append(cands, candidate{ifi: ifi, addrs: ipv4Addrs(ifi)})
	}
	c := chooseDefault(cands, defaultRouteInterfaces())
	if len(c.Interfaces) == 0 {
		return c, errors.New("mdns: no usable interface: none is up, multicast-capable, not loopback and not the public uplink (set mdns.interfaces)")
	}
	return c, nil
}

// candidate is one interface with its IPv4 addresses, the input of the
// default choice.
type candidate struct {
	ifi   net.Interface
	addrs []netip.Addr
}

// chooseDefault applies the default rule to the host's interfaces;
// defaultRoute names the interfaces holding an IPv4 default route.
func chooseDefault(cands []candidate, defaultRoute map[string]bool) Choice {
	var c Choice
	for _, cd := range cands {
		ifi := cd.ifi
		switch {
		case ifi.Flags&net.FlagLoopback != 0:
			continue // never a candidate, not worth listing
		case ifi.Flags&net.FlagUp == 0:
			c.Skipped = append(c.Skipped, SkippedInterface{ifi.Name, "down"})
			continue
		case ifi.Flags&net.FlagMulticast == 0:
			c.Skipped = append(c.Skipped, SkippedInterface{ifi.Name, "not multicast-capable"})
			continue
		}
		if defaultRoute[ifi.Name] {
			if pub, ok := publicAddr(cd.addrs); ok {
				c.Skipped = append(c.Skipped, SkippedInterface{ifi.Name,
					"holds the default route with public address " + pub.String()})
				continue
			}
		}
		c.Interfaces = append(c.Interfaces, ifi)
	}
	return c
}

// publicAddr returns the first address that is not private (RFC 1918),
// loopback, link-local or unspecified. Carrier-grade NAT space counts as
// public: it is the provider's network, not the household's.
func publicAddr(addrs []netip.Addr) (netip.Addr, bool) {
	for _, a := range addrs {
		if !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsUnspecified() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func ipv4Addrs(ifi net.Interface) []netip.Addr {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && n.IP.To4() != nil {
				out = append(out, ip)
			}
		}
	}
	return out
}

// defaultRouteInterfaces reads the IPv4 routing table (Linux); elsewhere
// it finds none.
func defaultRouteInterfaces() map[string]bool {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseRouteTable(f)
}

// parseRouteTable returns the interfaces of the default routes (destination
// and mask 0) in /proc/net/route's format.
func parseRouteTable(r io.Reader) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] == "Iface" {
			continue
		}
		if f[1] == "00000000" && f[7] == "00000000" {
			out[f[0]] = true
		}
	}
	return out
}
