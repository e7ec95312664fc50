// Package addrguard decides which addresses the hub may connect to on a
// partner's behalf (notification callbacks): only global unicast. The hub
// sits inside a home, so a callback must never be a way to reach the LAN,
// the hub itself, the ISP's side of the line or anything else that is not
// an ordinary Internet host.
package addrguard

import (
	"fmt"
	"net/netip"
)

// block is one special-purpose range with the name the registry gives it.
type block struct {
	prefix netip.Prefix
	name   string
}

// Every entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries
// (RFC 6890 and its updates), whatever their "globally reachable" column
// says: a partner's callback host has no business on an anycast service,
// a benchmarking net or a protocol assignment. Multicast comes from the
// address architecture (RFC 5771, RFC 4291).
var v4Blocks = []block{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (RFC 791)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private-use (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (RFC 1122)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (RFC 3927)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private-use (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments, DS-Lite (RFC 6890, RFC 6333)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation TEST-NET-1 (RFC 5737)"},
	{netip.MustParsePrefix("192.31.196.0/24"), "AS112-v4 (RFC 7535)"},
	{netip.MustParsePrefix("192.52.193.0/24"), "AMT (RFC 7450)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "deprecated 6to4 relay anycast (RFC 7526)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private-use (RFC 1918)"},
	{netip.MustParsePrefix("192.175.48.0/24"), "AS112 direct delegation (RFC 7534)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (RFC 2544)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation TEST-NET-2 (RFC 5737)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation TEST-NET-3 (RFC 5737)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (RFC 5771)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (RFC 1112)"},
	{netip.MustParsePrefix("255.255.255.255/32"), "limited broadcast (RFC 919)"},
}

// IPv6 outside 2000::/3 is not global unicast at all (RFC 4291 §2.4: the
// loopback, unspecified, v4-compatible and v4-mapped forms, 64:ff9b::/96,
// 100::/64, ULA, link-local, multicast...). Inside it, these are special.
var v6Blocks = []block{
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments: Teredo, benchmarking, ORCHID, AMT, AS112 (RFC 2928, RFC 6890)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (RFC 3849)"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (RFC 3056, deprecated by RFC 7526)"},
	{netip.MustParsePrefix("2620:4f:8000::/48"), "AS112 direct delegation (RFC 7534)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (RFC 9637)"},
}

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215
	v4Compatible   = netip.MustParsePrefix("::/96")          // RFC 4291 §2.5.5.1, deprecated
)

// Check returns nil for a global unicast address and otherwise an error
// naming the special-purpose block. An IPv4 address embedded in IPv6
// (v4-mapped, the well-known NAT64 prefix) is judged as that IPv4 address:
// an IPv6-only home reaches an IPv4 partner through DNS64/NAT64, and a
// special IPv4 address must not pass because it was written as IPv6.
func Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("invalid address")
	}
	if ip.Zone() != "" {
		return fmt.Errorf("%s is a scoped (zoned) address", ip)
	}
	if ip.Is4In6() {
		if err := check4(ip.Unmap()); err != nil {
			return fmt.Errorf("%s is v4-mapped: %w", ip, err)
		}
		return nil
	}
	if ip.Is4() {
		return check4(ip)
	}
	switch {
	case nat64WellKnown.Contains(ip):
		if err := check4(embedded4(ip)); err != nil {
			return fmt.Errorf("%s is NAT64 (RFC 6052): %w", ip, err)
		}
		return nil
	case nat64Local.Contains(ip):
		return fmt.Errorf("%s is local-use NAT64 (RFC 8215)", ip)
	case ip.IsUnspecified():
		return fmt.Errorf("%s is unspecified (RFC 4291)", ip)
	case ip.IsLoopback():
		return fmt.Errorf("%s is loopback (RFC 4291)", ip)
	case v4Compatible.Contains(ip):
		return fmt.Errorf("%s is the deprecated v4-compatible form of %s (RFC 4291)", ip, embedded4(ip))
	case !globalUnicast6.Contains(ip):
		return fmt.Errorf("%s is not global unicast (outside 2000::/3: unique-local, link-local, multicast or reserved)", ip)
	}
	for _, b := range v6Blocks {
		if b.prefix.Contains(ip) {
			return fmt.Errorf("%s is special-purpose: %s", ip, b.name)
		}
	}
	return nil
}

func check4(ip netip.Addr) error {
	for _, b := range v4Blocks {
		if b.prefix.Contains(ip) {
			return fmt.Errorf("%s is special-purpose: %s", ip, b.name)
		}
	}
	return nil
}

// embedded4 is the IPv4 address in an address's last 32 bits.
func embedded4(ip netip.Addr) netip.Addr {
	b := ip.As16()
	return netip.AddrFrom4([4]byte(b[12:]))
}
