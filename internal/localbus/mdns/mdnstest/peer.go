package mdnstest

import (
	"net"
	"sync"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
	"golang.org/x/net/ipv4"
)

// Heard is one packet a Peer received.
type Heard struct {
	Msg  *dnsmsg.Msg
	From *net.UDPAddr
	// Unicast is true when the packet was addressed to the peer rather
	// than to the group.
	Unicast bool
	At      time.Time
}

// Peer is an independent mDNS participant inside the namespace: a socket
// on port 5353 joined to the group on the namespace's link, recording
// every packet it hears (queries and responses, multicast and unicast),
// and a second socket on an ephemeral port for one-shot (legacy unicast)
// queries, whose replies are recorded too.
type Peer struct {
	n      *Net
	pc     *ipv4.PacketConn
	legacy *net.UDPConn
	mu     sync.Mutex
	heard  []Heard
}

// Peer starts a recording participant on the namespace's side of the link.
func (n *Net) Peer() *Peer {
	n.t.Helper()
	p := &Peer{n: n}
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(n.PeerIf)
		if err != nil {
			return err
		}
		c, err := net.ListenUDP("udp4", group)
		if err != nil {
			return err
		}
		p.pc = ipv4.NewPacketConn(c)
		if err := p.pc.JoinGroup(ifi, group); err != nil {
			c.Close()
			return err
		}
		if err := p.pc.SetMulticastInterface(ifi); err != nil {
			c.Close()
			return err
		}
		_ = p.pc.SetMulticastTTL(255)
		if err := p.pc.SetControlMessage(ipv4.FlagDst, true); err != nil {
			c.Close()
			return err
		}
		p.legacy, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(n.PeerIP(2))})
		if err != nil {
			c.Close()
			return err
		}
		return ipv4.NewPacketConn(p.legacy).SetMulticastInterface(ifi)
	})
	if err != nil {
		n.t.Fatalf("peer in namespace: %v", err)
	}
	n.t.Cleanup(func() { p.pc.Close(); p.legacy.Close() })
	go p.record(func(b []byte) (int, net.Addr, bool, error) {
		k, cm, from, err := p.pc.ReadFrom(b)
		return k, from, cm != nil && !cm.Dst.IsMulticast(), err
	})
	go p.record(func(b []byte) (int, net.Addr, bool, error) {
		k, from, err := p.legacy.ReadFrom(b)
		return k, from, true, err
	})
	return p
}

func (p *Peer) record(read func([]byte) (int, net.Addr, bool, error)) {
	buf := make([]byte, 9000)
	for {
		k, from, unicast, err := read(buf)
		if err != nil {
			return
		}
		m := new(dnsmsg.Msg)
		if m.Unpack(buf[:k]) != nil {
			continue
		}
		udp, _ := from.(*net.UDPAddr)
		p.mu.Lock()
		p.heard = append(p.heard, Heard{Msg: m, From: udp, Unicast: unicast, At: time.Now()})
		p.mu.Unlock()
	}
}

// Heard returns every packet heard so far.
func (p *Peer) Heard() []Heard {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Heard(nil), p.heard...)
}

// Query multicasts a query from port 5353, as a resolver that caches does.
func (p *Peer) Query(m *dnsmsg.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = p.pc.WriteTo(b, nil, group)
	return err
}

// LegacyQuery sends a query from an ephemeral port (a one-shot resolver,
// RFC 6762 §6.7) to addr, the group or a unicast address on port 5353.
func (p *Peer) LegacyQuery(m *dnsmsg.Msg, addr string) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	to, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return err
	}
	_, err = p.legacy.WriteToUDP(b, to)
	return err
}
