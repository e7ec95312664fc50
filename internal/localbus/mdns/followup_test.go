package mdns_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
)

// lossyResponder answers like a responder on Wi-Fi whose first answers to
// the follow-up questions are lost: the browse query gets the PTR alone
// (no additional records) and nothing once the PTR is among the query's
// known answers (RFC 6762 §7.1), the first lose answers to SRV/TXT and to
// A questions are dropped, later ones answered.
type lossyResponder struct {
	n    *mdnstest.Net
	s    *mdnstest.Sender
	lose int

	mu    sync.Mutex
	asked map[uint16]int // follow-up questions heard, by type
}

const (
	lossyService = "_wled._tcp.local."
	lossyInst    = "lossy." + lossyService
	lossyHost    = "lossy.local."
)

func (r *lossyResponder) hdr(name string, rrtype uint16) dnsmsg.RRHeader {
	return dnsmsg.RRHeader{Name: name, Rrtype: rrtype, Class: dnsmsg.ClassINET, Ttl: 120}
}

func (r *lossyResponder) query(q *dnsmsg.Msg) {
	known := false
	for _, rr := range q.Answer {
		if p, ok := rr.(*dnsmsg.PTR); ok && strings.EqualFold(p.Ptr, lossyInst) {
			known = true
		}
	}
	m := new(dnsmsg.Msg)
	for _, question := range q.Question {
		name := strings.ToLower(question.Name)
		switch {
		case name == lossyService && question.Qtype == dnsmsg.TypePTR && !known:
			m.Answer = append(m.Answer, &dnsmsg.PTR{Hdr: r.hdr(lossyService, dnsmsg.TypePTR), Ptr: lossyInst})
		case name == lossyInst && question.Qtype == dnsmsg.TypeSRV, name == lossyHost && question.Qtype == dnsmsg.TypeA:
			r.mu.Lock()
			r.asked[question.Qtype]++
			lost := r.asked[question.Qtype] <= r.lose
			r.mu.Unlock()
			if lost {
				continue
			}
			if question.Qtype == dnsmsg.TypeSRV {
				m.Answer = append(m.Answer, &dnsmsg.SRV{Hdr: r.hdr(lossyInst, dnsmsg.TypeSRV), Port: 80, Target: lossyHost},
					&dnsmsg.TXT{Hdr: r.hdr(lossyInst, dnsmsg.TypeTXT), Txt: []string{"mac=0123456789ab"}})
			} else {
				m.Answer = append(m.Answer, &dnsmsg.A{Hdr: r.hdr(lossyHost, dnsmsg.TypeA), A: net.ParseIP(r.n.PeerIP(7))})
			}
		}
	}
	if len(m.Answer) > 0 {
		_ = r.s.Msg(m)
	}
}

// An instance whose SRV and then A answers were lost is still resolved:
// the browser asks again for what it lacks instead of waiting for the PTR
// to drop out of its known answers (half its TTL, 37 min for Avahi's
// default PTR TTL of 75 min).
func TestLostFollowUpAnswersAreAskedForAgain(t *testing.T) {
	t.Parallel() // a network namespace of its own
	n := mdnstest.New(t)
	r := &lossyResponder{n: n, s: n.Sender(), lose: 2, asked: map[uint16]int{}}
	n.Listen5353(r.query)
	b := startBrowser(t, n, mdns.Options{Services: []string{"_wled._tcp"}})
	in := waitInstance(t, b, 15*time.Second, "the instance resolved", func(i mdns.Instance) bool {
		return i.Name == "lossy" && i.Port == 80 && len(i.Addresses) == 1
	})
	if in.Addresses[0] != n.PeerIP(7) || in.TXT["mac"] != "0123456789ab" {
		t.Errorf("resolved as %+v", in)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.asked[dnsmsg.TypeSRV] != 3 || r.asked[dnsmsg.TypeA] != 3 {
		t.Errorf("asked SRV %d and A %d times, want 3 each (two lost, one answered)", r.asked[dnsmsg.TypeSRV], r.asked[dnsmsg.TypeA])
	}
}
