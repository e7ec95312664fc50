package mdns

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// A /proc/net/route as Linux writes it on a gateway: default route on wan,
// the LAN bridge, a guest network.
const routeTable = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
wan	00000000	0171A8C0	0003	0	0	0	00000000	0	0	0
wan	0071A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
br-lan	0001A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
guest	0002A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
`

func TestParseRouteTableFindsTheDefaultRoutes(t *testing.T) {
	got := parseRouteTable(strings.NewReader(routeTable))
	if len(got) != 1 || !got["wan"] {
		t.Fatalf("default route interfaces = %v, want [wan]", got)
	}
	if got := parseRouteTable(strings.NewReader("garbage\n\x00\n")); len(got) != 0 {
		t.Fatalf("garbage gave %v", got)
	}
}

func TestDefaultChoiceLeavesOutThePublicUplink(t *testing.T) {
	up := net.FlagUp | net.FlagMulticast
	ifi := func(name string, flags net.Flags) net.Interface { return net.Interface{Name: name, Flags: flags} }
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		name     string
		cands    []candidate
		defRoute map[string]bool
		want     []string
		skipped  []string
	}{
		{"gateway with public uplink", []candidate{
			{ifi("lo", up|net.FlagLoopback), addrs("127.0.0.1")},
			{ifi("wan", up), addrs("203.0.113.7")},
			{ifi("br-lan", up), addrs("192.168.1.1")},
		}, map[string]bool{"wan": true}, []string{"br-lan"}, []string{"wan"}},
		{"uplink behind a home router (private address)", []candidate{
			{ifi("eth0", up), addrs("192.168.1.20")},
		}, map[string]bool{"eth0": true}, []string{"eth0"}, nil},
		{"carrier-grade NAT counts as public", []candidate{
			{ifi("wwan0", up), addrs("100.64.3.4")},
			{ifi("br-lan", up), addrs("10.0.0.1")},
		}, map[string]bool{"wwan0": true}, []string{"br-lan"}, []string{"wwan0"}},
		{"public address without the default route", []candidate{
			{ifi("dmz", up), addrs("198.51.100.1")},
		}, nil, []string{"dmz"}, nil},
		{"no multicast, down", []candidate{
			{ifi("tun0", net.FlagUp), addrs("10.8.0.2")},
			{ifi("eth1", net.FlagMulticast), nil},
			{ifi("br-lan", up), addrs("192.168.1.1")},
		}, nil, []string{"br-lan"}, []string{"tun0", "eth1"}},
		{"uplink with no IPv4 address", []candidate{
			{ifi("wan", up), nil},
		}, map[string]bool{"wan": true}, []string{"wan"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chooseDefault(tt.cands, tt.defRoute)
			var skipped []string
			for _, s := range c.Skipped {
				skipped = append(skipped, s.Name)
				if s.Reason == "" {
					t.Errorf("%s skipped without a reason", s.Name)
				}
			}
			if !slices.Equal(c.Names(), tt.want) || !slices.Equal(skipped, tt.skipped) {
				t.Fatalf("chose %v, skipped %v; want %v and %v", c.Names(), c.Skipped, tt.want, tt.skipped)
			}
		})
	}
}
