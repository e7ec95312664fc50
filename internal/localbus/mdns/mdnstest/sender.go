package mdnstest

import (
	"net"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
	"golang.org/x/net/ipv4"
)

// Sender multicasts hand-made mDNS packets from inside the namespace, for
// tests of what a misbehaving responder can send.
type Sender struct {
	pc *ipv4.PacketConn
}

var group = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// Sender opens a multicast sender on the namespace's side of the link.
func (n *Net) Sender() *Sender {
	n.t.Helper()
	var s *Sender
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(n.PeerIf)
		if err != nil {
			return err
		}
		// From port 5353, as responders must send (RFC 6762 §6): binding
		// the group address binds the wildcard with SO_REUSEADDR, so this
		// shares the port with a Peer or Avahi. It never joins the group,
		// so it hears nothing.
		c, err := net.ListenUDP("udp4", group)
		if err != nil {
			return err
		}
		pc := ipv4.NewPacketConn(c)
		if err := pc.SetMulticastInterface(ifi); err != nil {
			c.Close()
			return err
		}
		_ = pc.SetMulticastTTL(255)
		s = &Sender{pc: pc}
		return nil
	})
	if err != nil {
		n.t.Fatalf("sender: %v", err)
	}
	n.t.Cleanup(func() { s.pc.Close() })
	return s
}

// Raw sends bytes as they are.
func (s *Sender) Raw(b []byte) error {
	_, err := s.pc.WriteTo(b, nil, group)
	return err
}

// Msg packs and sends a DNS message as an mDNS response.
func (s *Sender) Msg(m *dnsmsg.Msg) error {
	m.Response, m.Authoritative = true, true
	b, err := m.Pack()
	if err != nil {
		return err
	}
	return s.Raw(b)
}

// Listen5353 joins the mDNS group inside the namespace and calls fn with every
// query heard, until the end of the test. With Msg it makes a minimal
// responder whose answers the test controls.
func (n *Net) Listen5353(fn func(q *dnsmsg.Msg)) {
	n.t.Helper()
	var pc *ipv4.PacketConn
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(n.PeerIf)
		if err != nil {
			return err
		}
		c, err := net.ListenUDP("udp4", group)
		if err != nil {
			return err
		}
		pc = ipv4.NewPacketConn(c)
		return pc.JoinGroup(ifi, group)
	})
	if err != nil {
		n.t.Fatalf("listen on 5353 in namespace: %v", err)
	}
	n.t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 9000)
		for {
			k, _, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(dnsmsg.Msg)
			if m.Unpack(buf[:k]) == nil && !m.Response {
				fn(m)
			}
		}
	}()
}
