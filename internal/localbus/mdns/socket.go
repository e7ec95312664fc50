package mdns

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
	"golang.org/x/net/ipv4"
)

// socket is the mDNS stack's one UDP socket on port 5353, joined to the
// group on the chosen interfaces only. The browser and the responder share
// it: one interface filter for both.
type socket struct {
	pc      *ipv4.PacketConn
	ifaces  []net.Interface // the joined ones
	byIndex map[int]*net.Interface
	log     *slog.Logger
	sent    atomic.Uint64
}

// openSocket binds port 5353 and joins 224.0.0.251 on ifaces.
func openSocket(ifaces []net.Interface, log *slog.Logger) (*socket, error) {
	// Binding the group address makes the net package bind the wildcard
	// with SO_REUSEADDR, so the agent shares port 5353 with avahi.
	udp, err := net.ListenUDP("udp4", mdnsGroup)
	if err != nil {
		return nil, fmt.Errorf("mdns: listen on port 5353: %w", err)
	}
	// By default Linux hands a socket every multicast packet of a group
	// that any socket on the host joined, on any interface
	// (IP_MULTICAST_ALL). Off, the socket hears the group only where it
	// joined it.
	if err := multicastAllOff(udp); err != nil {
		udp.Close()
		return nil, fmt.Errorf("mdns: %w", err)
	}
	s := &socket{pc: ipv4.NewPacketConn(udp), byIndex: map[int]*net.Interface{}, log: log}
	for i := range ifaces {
		if err := s.pc.JoinGroup(&ifaces[i], mdnsGroup); err != nil {
			log.Warn("mdns: cannot join the multicast group", "interface", ifaces[i].Name, "err", err)
			continue
		}
		s.ifaces = append(s.ifaces, ifaces[i])
	}
	if len(s.ifaces) == 0 {
		s.pc.Close()
		return nil, errors.New("mdns: could not join the multicast group on any interface")
	}
	for i := range s.ifaces {
		s.byIndex[s.ifaces[i].Index] = &s.ifaces[i]
	}
	if err := s.pc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		s.pc.Close()
		return nil, fmt.Errorf("mdns: %w", err)
	}
	_ = s.pc.SetMulticastTTL(255) // RFC 6762 §11
	// Loopback lets programs on this host (avahi, another agent) hear us.
	_ = s.pc.SetMulticastLoopback(true)
	return s, nil
}

func (s *socket) Close() error { return s.pc.Close() }

// packet is one message heard on a chosen interface.
type packet struct {
	msg *dnsmsg.Msg
	ifi *net.Interface
	src *net.UDPAddr
}

// read receives packets until the socket closes. Packets that came in on
// another interface (a unicast to port 5353 from the uplink, say) are
// dropped before parsing; heard counts the rest, bad the ones that are not
// DNS.
func (s *socket) read(fn func(packet), heard, bad *atomic.Uint64) {
	buf := make([]byte, 9000)
	for {
		n, cm, src, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if cm == nil {
			continue // no interface known: cannot tell whether it may be heard
		}
		ifi, ok := s.byIndex[cm.IfIndex]
		if !ok {
			continue
		}
		heard.Add(1)
		msg := new(dnsmsg.Msg)
		if err := msg.Unpack(buf[:n]); err != nil {
			bad.Add(1)
			continue
		}
		if msg.Opcode != dnsmsg.OpcodeQuery {
			continue
		}
		udp, _ := src.(*net.UDPAddr)
		fn(packet{msg: msg, ifi: ifi, src: udp})
	}
}

// multicast sends a message to the group on one chosen interface.
func (s *socket) multicast(m *dnsmsg.Msg, ifi *net.Interface) error {
	buf, err := m.Pack()
	if err != nil {
		return err
	}
	if _, err := s.pc.WriteTo(buf, &ipv4.ControlMessage{IfIndex: ifi.Index}, mdnsGroup); err != nil {
		return err
	}
	s.sent.Add(1)
	return nil
}

// unicast sends a message to one address, out of the interface the
// question came in on.
func (s *socket) unicast(m *dnsmsg.Msg, ifi *net.Interface, to *net.UDPAddr) error {
	buf, err := m.Pack()
	if err != nil {
		return err
	}
	if _, err := s.pc.WriteTo(buf, &ipv4.ControlMessage{IfIndex: ifi.Index}, to); err != nil {
		return err
	}
	s.sent.Add(1)
	return nil
}
