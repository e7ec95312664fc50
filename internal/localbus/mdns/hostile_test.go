package mdns_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// announce builds a full announcement of one instance: PTR, SRV, TXT, A.
func announce(name, service, host, ip string, port uint16, ttl uint32, txt []string) *dnsmsg.Msg {
	svc := service + ".local."
	inst := name + "." + svc
	hdr := func(n string, t uint16) dnsmsg.RRHeader {
		return dnsmsg.RRHeader{Name: n, Rrtype: t, Class: dnsmsg.ClassINET, Ttl: ttl}
	}
	m := new(dnsmsg.Msg)
	m.Answer = []dnsmsg.RR{&dnsmsg.PTR{Hdr: hdr(svc, dnsmsg.TypePTR), Ptr: inst}}
	m.Extra = []dnsmsg.RR{
		&dnsmsg.SRV{Hdr: hdr(inst, dnsmsg.TypeSRV), Port: port, Target: host},
		&dnsmsg.TXT{Hdr: hdr(inst, dnsmsg.TypeTXT), Txt: txt},
		&dnsmsg.A{Hdr: hdr(host, dnsmsg.TypeA), A: net.ParseIP(ip)},
	}
	return m
}

func TestHostileResponsesAreBoundedAndSanitized(t *testing.T) {
	t.Parallel() // a network namespace of its own
	n := mdnstest.New(t)
	b := startBrowser(t, n, mdns.Options{MaxInstances: 5})
	s := n.Sender()

	send := func(m *dnsmsg.Msg) {
		t.Helper()
		if err := s.Msg(m); err != nil {
			t.Fatal(err)
		}
	}
	// The browser joins the multicast group in the background, so every
	// packet here is repeated until its effect is seen (bounded by the
	// waits), never assumed to have arrived on the first send.
	// Garbage that is not DNS at all, and a truncated header.
	testutil.Eventually(t, 5*time.Second, "malformed packets counted", func() bool {
		if err := s.Raw([]byte("\x00\x01garbage that is not a DNS message \xff\xfe")); err != nil {
			t.Fatal(err)
		}
		_ = s.Raw([]byte{0x00, 0x00, 0x84})
		return b.Stats().Malformed >= 1
	})
	// An oversized TXT record: 40 strings of 200 bytes, control bytes,
	// invalid UTF-8 and a duplicate key.
	var big []string
	for i := range 40 {
		big = append(big, fmt.Sprintf("k%02d=%s", i, strings.Repeat("v", 196)))
	}
	big = append([]string{`evil=\027[31m\255red`, "EVIL=second"}, big...)
	var in mdns.Instance
	testutil.Eventually(t, 5*time.Second, "the odd instance", func() bool {
		send(announce(`odd\000name\027[2J`, "_http._tcp", "odd.local.", n.PeerIP(2), 80, 120, big))
		for _, i := range b.Instances() {
			if strings.HasPrefix(i.Name, "odd") && i.Port == 80 {
				in = i
				return true
			}
		}
		return false
	})
	if in.Name != "odd\uFFFDname\uFFFD[2J" {
		t.Errorf("name not sanitized: %q", in.Name)
	}
	if got := in.TXT["evil"]; got != "\uFFFD[31m\uFFFDred" {
		t.Errorf("TXT value not sanitized or first occurrence not kept: %q", got)
	}
	size := 0
	for k, v := range in.TXT {
		size += len(k) + len(v)
	}
	if len(in.TXT) > mdns.MaxTXTEntries || size > mdns.MaxTXTBytes {
		t.Errorf("TXT not bounded: %d entries, %d bytes", len(in.TXT), size)
	}

	// More instances than the table holds: the rest are counted, not kept.
	for i := range 10 {
		send(announce(fmt.Sprintf("flood-%d", i), "_http._tcp", "flood.local.", n.PeerIP(2), 80, 120, nil))
	}
	testutil.Eventually(t, 5*time.Second, "drops to be counted", func() bool { return b.Stats().Dropped >= 6 })
	if got := len(b.Instances()); got != 5 {
		t.Errorf("table holds %d instances, want the bound 5", got)
	}
}

func TestExpiredAndGoodbyeRecordsMarkInstancesGone(t *testing.T) {
	t.Parallel() // a network namespace of its own
	n := mdnstest.New(t)
	b := startBrowser(t, n, mdns.Options{})
	s := n.Sender()
	// The browser joins the group in the background: announce until both
	// are seen rather than trusting the first packets to arrive.
	testutil.Eventually(t, 5*time.Second, "both instances", func() bool {
		if err := s.Msg(announce("short-lived", "_wled._tcp", "short.local.", n.PeerIP(2), 80, 2, []string{"mac=001122334455"})); err != nil {
			t.Fatal(err)
		}
		if err := s.Msg(announce("leaving", "_wled._tcp", "leaving.local.", n.PeerIP(3), 80, 120, nil)); err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, i := range b.Instances() {
			if (i.Name == "leaving" || i.Name == "short-lived") && !i.Gone {
				seen++
			}
		}
		return seen == 2
	})
	start := time.Now() // the short TTL counts from the last announcement
	// A goodbye: the same records with TTL 0.
	if err := s.Msg(announce("leaving", "_wled._tcp", "leaving.local.", n.PeerIP(3), 80, 0, nil)); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, b, 3*time.Second, "goodbye", func(i mdns.Instance) bool { return i.Name == "leaving" && i.Gone })
	// Nobody answers the refresh queries, so the 2 s TTL runs out.
	waitInstance(t, b, 5*time.Second, "TTL expiry", func(i mdns.Instance) bool { return i.Name == "short-lived" && i.Gone })
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("gone after %v, before its 2 s TTL ran out", took)
	}
	// Coming back clears the mark.
	if err := s.Msg(announce("short-lived", "_wled._tcp", "short.local.", n.PeerIP(4), 80, 120, nil)); err != nil {
		t.Fatal(err)
	}
	back := waitInstance(t, b, 3*time.Second, "return", func(i mdns.Instance) bool { return i.Name == "short-lived" && !i.Gone })
	if len(back.Addresses) != 1 || back.Addresses[0] != n.PeerIP(4) {
		t.Errorf("returned with addresses %v, want [%s]", back.Addresses, n.PeerIP(4))
	}
}

func TestShortTTLRecordsAreRefreshedNotExpired(t *testing.T) {
	t.Parallel() // a network namespace of its own
	n := mdnstest.New(t)
	s := n.Sender()
	var mu sync.Mutex
	queries := 0
	// A responder whose records live 3 s: it answers every query that asks
	// about its service, instance or host.
	n.Listen5353(func(q *dnsmsg.Msg) {
		for _, question := range q.Question {
			if strings.Contains(strings.ToLower(question.Name), "_wled._tcp") || question.Name == "brief.local." {
				mu.Lock()
				queries++
				mu.Unlock()
				_ = s.Msg(announce("brief", "_wled._tcp", "brief.local.", n.PeerIP(2), 80, 3, nil))
				return
			}
		}
	})
	b := startBrowser(t, n, mdns.Options{MaxQueryInterval: time.Hour})
	waitInstance(t, b, 5*time.Second, "the instance", func(i mdns.Instance) bool { return i.Name == "brief" })
	// Browse queries go out at 0, 1, 2, 4, 8 and 16 s; past 11 s only the
	// refreshes at 80 % and 90 % of the TTL keep the instance alive.
	deadline := time.Now().Add(14 * time.Second)
	for time.Now().Before(deadline) {
		for _, in := range b.Instances() {
			if in.Gone {
				t.Fatalf("expired although the responder answers refreshes: %+v", in)
			}
		}
		time.Sleep(100 * time.Millisecond) // watching for an expiry over a span of real time: the TTL runs on the wire
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d queries answered in ~14 s for a 3 s TTL", queries)
}
