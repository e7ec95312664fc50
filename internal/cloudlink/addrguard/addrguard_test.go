package addrguard

import (
	"net/netip"
	"strings"
	"testing"
)

// Every block of the IANA IPv4 and IPv6 Special-Purpose Address Registries
// (and multicast, and IPv6 outside 2000::/3) is refused: its first and last
// address and, where the issue named one, the address seen accepted.
func TestCheckRefusesEverySpecialPurposeBlock(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		// IPv4 Special-Purpose Address Registry.
		{"0.0.0.0", "this network"}, {"0.1.2.3", "this network"}, {"0.255.255.255", "this network"},
		{"10.0.0.0", "private-use"}, {"10.255.255.255", "private-use"},
		{"100.64.0.0", "shared address space"}, {"100.127.255.255", "shared address space"},
		{"127.0.0.1", "loopback"}, {"127.255.255.255", "loopback"},
		{"169.254.0.0", "link-local"}, {"169.254.169.254", "link-local"},
		{"172.16.0.0", "private-use"}, {"172.31.255.255", "private-use"},
		{"192.0.0.0", "IETF protocol"}, {"192.0.0.1", "DS-Lite"}, {"192.0.0.2", "DS-Lite"},
		{"192.0.0.8", "IETF protocol"}, {"192.0.0.9", "IETF protocol"}, {"192.0.0.10", "IETF protocol"},
		{"192.0.0.170", "IETF protocol"}, {"192.0.0.171", "IETF protocol"}, {"192.0.0.255", "IETF protocol"},
		{"192.0.2.0", "TEST-NET-1"}, {"192.0.2.255", "TEST-NET-1"},
		{"192.31.196.1", "AS112-v4"}, {"192.52.193.1", "AMT"},
		{"192.88.99.1", "6to4 relay"}, {"192.168.0.1", "private-use"}, {"192.168.255.255", "private-use"},
		{"192.175.48.1", "AS112"},
		{"198.18.0.0", "benchmarking"}, {"198.18.0.1", "benchmarking"}, {"198.19.255.255", "benchmarking"},
		{"198.51.100.7", "TEST-NET-2"}, {"203.0.113.9", "TEST-NET-3"},
		{"224.0.0.1", "multicast"}, {"239.255.255.250", "multicast"},
		{"240.0.0.0", "reserved"}, {"240.0.0.1", "reserved"}, {"255.255.255.254", "reserved"},
		{"255.255.255.255", "special-purpose"},
		// IPv6 Special-Purpose Address Registry and the address architecture.
		{"::", "unspecified"}, {"::1", "loopback"},
		{"::ffff:127.0.0.1", "v4-mapped"}, {"::ffff:198.18.0.1", "v4-mapped"}, {"::ffff:10.1.2.3", "v4-mapped"},
		{"::198.18.0.1", "v4-compatible"}, {"::127.0.0.1", "v4-compatible"}, {"::8.8.8.8", "v4-compatible"},
		{"64:ff9b::198.18.0.1", "NAT64"}, {"64:ff9b::127.0.0.1", "NAT64"}, {"64:ff9b::10.0.0.1", "NAT64"},
		{"64:ff9b::192.0.0.1", "NAT64"}, {"64:ff9b::240.0.0.1", "NAT64"}, {"64:ff9b::255.255.255.255", "NAT64"},
		{"64:ff9b::0.1.2.3", "NAT64"},
		{"64:ff9b:1::8.8.8.8", "local-use NAT64"}, {"64:ff9b:1:ffff::1", "local-use NAT64"},
		{"100::1", "not global unicast"}, {"100:0:0:1::1", "not global unicast"},
		{"2001::1", "Teredo"}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"2001:1::1", "IETF protocol"}, {"2001:1::2", "IETF protocol"}, {"2001:1::3", "IETF protocol"},
		{"2001:2::1", "IETF protocol"}, {"2001:3::1", "IETF protocol"}, {"2001:4:112::1", "IETF protocol"},
		{"2001:10::1", "IETF protocol"}, {"2001:20::1", "IETF protocol"}, {"2001:30::1", "IETF protocol"},
		{"2001:1ff:ffff::1", "IETF protocol"},
		{"2001:db8::1", "documentation"}, {"2001:db8:ffff::1", "documentation"},
		{"2002::1", "6to4"}, {"2002:c612:1::1", "6to4"}, {"2002:7f00:1::1", "6to4"}, {"2002:0808:0808::1", "6to4"},
		{"2620:4f:8000::1", "AS112"},
		{"3fff::1", "documentation"}, {"3fff:fff:ffff::1", "documentation"},
		{"5f00::1", "not global unicast"},
		{"fc00::1", "not global unicast"}, {"fd12:3456::1", "not global unicast"},
		{"fe80::1", "not global unicast"}, {"fec0::1", "not global unicast"},
		{"ff02::1", "not global unicast"}, {"ff0e::1", "not global unicast"},
		{"fe80::1%eth0", "scoped"},
	} {
		err := Check(netip.MustParseAddr(tc.addr))
		if err == nil {
			t.Errorf("%s accepted", tc.addr)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not say %q", tc.addr, err, tc.want)
		}
	}
}

// Ordinary Internet hosts pass, also when written as IPv6 through the
// well-known NAT64 prefix or v4-mapped (an IPv6-only home behind DNS64).
func TestCheckAcceptsGlobalUnicast(t *testing.T) {
	for _, a := range []string{
		"1.1.1.1", "8.8.8.8", "9.9.9.9", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
		"192.0.1.1", "192.88.98.255", "198.17.255.255", "198.20.0.0", "223.255.255.255",
		"::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b::1.1.1.1",
		"2001:200::1", "2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450::1", "3ffe::1", "3fff:1000::1",
	} {
		if err := Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
}

// FuzzCheck: no address panics, and the embedded-IPv4 forms never disagree
// with the plain IPv4 verdict (a special IPv4 address cannot pass by being
// written as v4-mapped or NAT64).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"198.18.0.1", "0.1.2.3", "192.0.0.1", "240.0.0.1", "255.255.255.255", "8.8.8.8",
		"64:ff9b::c612:1", "::c612:1", "::ffff:127.0.0.1", "2002:c612:1::1", "2001:db8::1", "fe80::1%eth0", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		verdict := Check(ip)
		if !ip.Is4() {
			if verdict == nil && !ip.Is4In6() && !nat64WellKnown.Contains(ip) && !globalUnicast6.Contains(ip) {
				t.Fatalf("%s outside 2000::/3 accepted", ip)
			}
			return
		}
		plain := verdict == nil
		for _, alias := range []netip.Addr{netip.AddrFrom16(ip.As16()), nat64(ip)} {
			if (Check(alias) == nil) != plain {
				t.Fatalf("%s and %s disagree", ip, alias)
			}
		}
		if v4Compatible := netip.AddrFrom16(compat(ip)); Check(v4Compatible) == nil {
			t.Fatalf("v4-compatible %s accepted", v4Compatible)
		}
	})
}

func nat64(ip netip.Addr) netip.Addr {
	b := nat64WellKnown.Addr().As16()
	v := ip.As4()
	copy(b[12:], v[:])
	return netip.AddrFrom16(b)
}

func compat(ip netip.Addr) [16]byte {
	var b [16]byte
	v := ip.As4()
	copy(b[12:], v[:])
	return b
}
