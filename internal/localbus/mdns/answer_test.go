package mdns

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
)

func testStack(t testing.TB) (names, records) {
	t.Helper()
	o := AdvertiseOptions{Instance: "hubagent cap", Port: 8443, HubID: "hub-1", Version: "1"}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	r := &responder{opts: o, instance: o.Instance, host: o.Host}
	if err := r.setNames(); err != nil {
		t.Fatal(err)
	}
	return r.n, makeRecords(r.n, o.Port, AgentTXT(o.HubID, o.Version), []net.IP{net.IPv4(10, 0, 0, 1)}, hostTTL, otherTTL)
}

func query(qs ...dnsmsg.Question) *dnsmsg.Msg {
	m := new(dnsmsg.Msg)
	m.Question = qs
	return m
}

func q(name string, t uint16, qu bool) dnsmsg.Question {
	c := uint16(dnsmsg.ClassINET)
	if qu {
		c |= cacheFlush
	}
	return dnsmsg.Question{Name: name, Qtype: t, Qclass: c}
}

func types(rrs []dnsmsg.RR) string {
	var s []string
	for _, rr := range rrs {
		s = append(s, dnsmsg.TypeString(rr.Header().Rrtype))
	}
	return strings.Join(s, ",")
}

func TestAnswerPicksRecordsAdditionalsAndTheUnicastBit(t *testing.T) {
	n, r := testStack(t)
	known := func(m *dnsmsg.Msg, rr dnsmsg.RR, ttl uint32) *dnsmsg.Msg {
		c := dnsmsg.Copy(rr)
		c.Header().Class = dnsmsg.ClassINET
		c.Header().Ttl = ttl
		m.Answer = append(m.Answer, c)
		return m
	}
	tests := []struct {
		name              string
		q                 *dnsmsg.Msg
		ans, extra        string
		unicast, isShared bool
	}{
		{"browse", query(q("_HubAgent._tcp.local.", dnsmsg.TypePTR, false)), "PTR", "SRV,TXT,A", false, true},
		{"browse asking unicast", query(q(n.service, dnsmsg.TypePTR, true)), "PTR", "SRV,TXT,A", true, true},
		{"mixed QU and QM is multicast", query(q(n.service, dnsmsg.TypePTR, true), q(n.host, dnsmsg.TypeA, false)), "PTR,A", "SRV,TXT", false, true},
		{"service enumeration", query(q(servicesEnum, dnsmsg.TypePTR, false)), "PTR", "", false, true},
		{"resolve", query(q(n.instance, dnsmsg.TypeSRV, false), q(n.instance, dnsmsg.TypeTXT, false)), "SRV,TXT", "A", false, false},
		{"ANY of the instance", query(q(n.instance, dnsmsg.TypeANY, false)), "SRV,TXT", "A", false, false},
		{"host address", query(q(n.host, dnsmsg.TypeA, false)), "A", "", false, false},
		{"AAAA is not ours", query(q(n.host, dnsmsg.TypeAAAA, false)), "", "", false, false},
		{"another service", query(q("_http._tcp.local.", dnsmsg.TypePTR, false)), "", "", false, false},
		{"known answer with enough TTL", known(query(q(n.service, dnsmsg.TypePTR, false)), r.ptr, otherTTL/2), "", "", false, false},
		{"known answer about to expire", known(query(q(n.service, dnsmsg.TypePTR, false)), r.ptr, otherTTL/2-1), "PTR", "SRV,TXT,A", false, true},
		{"known additional left out", known(query(q(n.service, dnsmsg.TypePTR, false)), r.txt, otherTTL), "PTR", "SRV,A", false, true},
		{"CHAOS class", query(dnsmsg.Question{Name: n.service, Qtype: dnsmsg.TypePTR, Qclass: dnsmsg.ClassCHAOS}), "", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, extra, unicast, shared := answer(tt.q, n, r)
			if types(ans) != tt.ans || types(extra) != tt.extra || unicast != tt.unicast && tt.ans != "" || shared != tt.isShared {
				t.Fatalf("answer %s, extra %s, unicast %v, shared %v; want %s, %s, %v, %v",
					types(ans), types(extra), unicast, shared, tt.ans, tt.extra, tt.unicast, tt.isShared)
			}
		})
	}
}

func TestConflictsAndProbeTieBreak(t *testing.T) {
	n, r := testStack(t)
	ours := func(ip net.IP) bool { return ip.Equal(net.IPv4(10, 0, 0, 1)) }
	resp := func(rrs ...dnsmsg.RR) *dnsmsg.Msg { m := new(dnsmsg.Msg); m.Response = true; m.Answer = rrs; return m }
	otherSRV := dnsmsg.Copy(r.srv).(*dnsmsg.SRV)
	otherSRV.Port = 9
	otherA := dnsmsg.Copy(r.a[0]).(*dnsmsg.A)
	otherA.A = net.IPv4(10, 0, 0, 9)
	goodbye := dnsmsg.Copy(otherSRV)
	goodbye.Header().Ttl = 0
	for _, tt := range []struct {
		name string
		m    *dnsmsg.Msg
		want bool
	}{
		{"our own records looped back", resp(r.all()...), false},
		{"same name, other port", resp(otherSRV), true},
		{"our host name, other address", resp(otherA), true},
		{"a goodbye is not a claim", resp(goodbye), false},
	} {
		if got := conflicts(tt.m, n, r, ours); got != tt.want {
			t.Errorf("%s: conflict = %v, want %v", tt.name, got, tt.want)
		}
	}
	probe := func(rrs ...dnsmsg.RR) *dnsmsg.Msg {
		m := query(q(n.instance, dnsmsg.TypeANY, false))
		m.Ns = rrs
		return m
	}
	higher := dnsmsg.Copy(r.srv).(*dnsmsg.SRV)
	higher.Port = r.srv.(*dnsmsg.SRV).Port + 1
	lower := dnsmsg.Copy(r.srv).(*dnsmsg.SRV)
	lower.Port = r.srv.(*dnsmsg.SRV).Port - 1
	if probeLost(probe(r.srv, r.txt), n, r) {
		t.Error("lost a tie-break against our own probe")
	}
	if !probeLost(probe(higher, r.txt), n, r) {
		t.Error("won against a probe whose SRV sorts after ours")
	}
	if probeLost(probe(lower, r.txt), n, r) {
		t.Error("lost against a probe whose SRV sorts before ours")
	}
}

// FuzzResponderPacket feeds any packet to what the responder does with
// what it hears: answering, conflict detection, the probe tie-break. Seeds
// are packets avahi sent (browse with known answers, a probe, an
// announcement) and hand-made ones. It must never panic, answer only with
// the agent's own records, and keep the answer within one packet.
func FuzzResponderPacket(f *testing.F) {
	n, r := testStack(f)
	for _, m := range []*dnsmsg.Msg{
		query(q(n.instance, dnsmsg.TypeANY, true), q(n.host, dnsmsg.TypeA, true)),
		query(q(servicesEnum, dnsmsg.TypePTR, false), q(n.service, dnsmsg.TypeANY, false)),
	} {
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte("\x00\x01garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(dnsmsg.Msg)
		if m.Unpack(b) != nil {
			return
		}
		ans, extra, _, _ := answer(m, n, r)
		for _, rr := range append(slices.Clone(ans), extra...) {
			if !containsRecord(r.all(), rr) && !sameRecord(rr, r.enum) {
				t.Fatalf("answered with a record that is not ours: %v", rr)
			}
		}
		reply := new(dnsmsg.Msg)
		reply.Response, reply.Answer, reply.Extra = true, ans, extra
		if reply.Len() > maxPacket {
			t.Fatalf("reply of %d bytes", reply.Len())
		}
		conflicts(m, n, r, func(net.IP) bool { return false })
		probeLost(m, n, r)
	})
}
