package mdns

import (
	"bytes"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// TTLs of the agent's records (RFC 6762 §10): records naming a host 120 s,
// the others 75 minutes.
const (
	hostTTL  = 120
	otherTTL = 4500
	// cacheFlush is the top bit of the class of a unique record in a
	// response; in a question it asks for a unicast response (QU).
	cacheFlush = 1 << 15
	// legacyTTL caps TTLs in answers to one-shot (legacy unicast) queries
	// (RFC 6762 §6.7).
	legacyTTL = 10
	// maxQuestions bounds the work one query may cause.
	maxQuestions = 64
)

const servicesEnum = "_services._dns-sd._udp.local."

// names are the agent's names in the form miekg/dns unpacks them to,
// lower-cased for comparison.
type names struct {
	service  string // "_hubagent._tcp.local."
	instance string // "hubagent\ 1a2b3c4d._hubagent._tcp.local."
	host     string // "hubagent-1a2b3c4d.local."
}

// records are the agent's records as answered on one interface.
type records struct {
	ptr, enum, srv, txt dns.RR
	a                   []dns.RR // the interface's IPv4 addresses
}

func makeRecords(n names, port int, txt []string, addrs []net.IP, ttlHost, ttlOther uint32) records {
	hdr := func(name string, t uint16, ttl uint32, unique bool) dns.RR_Header {
		class := uint16(dns.ClassINET)
		if unique {
			class |= cacheFlush
		}
		return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
	}
	r := records{
		ptr:  &dns.PTR{Hdr: hdr(n.service, dns.TypePTR, ttlOther, false), Ptr: n.instance},
		enum: &dns.PTR{Hdr: hdr(servicesEnum, dns.TypePTR, ttlOther, false), Ptr: n.service},
		srv:  &dns.SRV{Hdr: hdr(n.instance, dns.TypeSRV, ttlHost, true), Port: uint16(port), Target: n.host},
		txt:  &dns.TXT{Hdr: hdr(n.instance, dns.TypeTXT, ttlOther, true), Txt: txt},
	}
	for _, ip := range addrs {
		r.a = append(r.a, &dns.A{Hdr: hdr(n.host, dns.TypeA, ttlHost, true), A: ip})
	}
	return r
}

// all lists every record, for announcements and goodbyes.
func (r records) all() []dns.RR {
	return append([]dns.RR{r.ptr, r.srv, r.txt}, r.a...)
}

// answer picks the records a query asks for (RFC 6762 §6), with the
// additional records a resolver will want next (RFC 6763 §12), leaving
// out what the query lists as known answers with at least half our TTL
// (§7.1). unicast reports whether every question asked for a unicast
// response (§5.4). shared reports whether a shared record (PTR) is among
// the answers, which calls for a short random delay when multicast (§6).
func answer(q *dns.Msg, n names, r records) (ans, extra []dns.RR, unicast, shared bool) {
	if q.Response || q.Opcode != dns.OpcodeQuery || q.Rcode != dns.RcodeSuccess {
		return nil, nil, false, false
	}
	unicast = len(q.Question) > 0
	add := func(list []dns.RR, rrs ...dns.RR) []dns.RR {
		for _, rr := range rrs {
			if !containsRecord(list, rr) && !knownAnswer(q.Answer, rr) {
				list = append(list, rr)
			}
		}
		return list
	}
	for i, qu := range q.Question {
		if i == maxQuestions {
			break
		}
		class := qu.Qclass &^ cacheFlush
		if class != dns.ClassINET && class != dns.ClassANY {
			continue
		}
		unicast = unicast && qu.Qclass&cacheFlush != 0
		any := qu.Qtype == dns.TypeANY
		switch strings.ToLower(qu.Name) {
		case n.service:
			if any || qu.Qtype == dns.TypePTR {
				ans = add(ans, r.ptr)
			}
		case servicesEnum:
			if any || qu.Qtype == dns.TypePTR {
				ans = add(ans, r.enum)
			}
		case n.instance:
			if any || qu.Qtype == dns.TypeSRV {
				ans = add(ans, r.srv)
			}
			if any || qu.Qtype == dns.TypeTXT {
				ans = add(ans, r.txt)
			}
		case n.host:
			if any || qu.Qtype == dns.TypeA {
				ans = add(ans, r.a...)
			}
		}
	}
	if len(ans) == 0 {
		return nil, nil, false, false
	}
	withExtra := func(rrs ...dns.RR) {
		for _, rr := range rrs {
			if !containsRecord(ans, rr) {
				extra = add(extra, rr)
			}
		}
	}
	for _, rr := range ans {
		switch rr.Header().Rrtype {
		case dns.TypePTR:
			if rr == r.ptr {
				shared = true
				withExtra(r.srv, r.txt)
				withExtra(r.a...)
			} else {
				shared = true
			}
		case dns.TypeSRV:
			withExtra(r.a...)
		}
	}
	return ans, extra, unicast, shared
}

// knownAnswer reports whether a query's known-answer list holds rr with at
// least half its TTL (RFC 6762 §7.1).
func knownAnswer(known []dns.RR, rr dns.RR) bool {
	for _, k := range known {
		if sameRecord(k, rr) && k.Header().Ttl >= rr.Header().Ttl/2 {
			return true
		}
	}
	return false
}

func containsRecord(list []dns.RR, rr dns.RR) bool {
	return slices.ContainsFunc(list, func(x dns.RR) bool { return sameRecord(x, rr) })
}

// sameRecord compares name, type and data, not class bits or TTL.
func sameRecord(a, b dns.RR) bool {
	ha, hb := a.Header(), b.Header()
	if ha.Rrtype != hb.Rrtype || !strings.EqualFold(ha.Name, hb.Name) {
		return false
	}
	return sameData(a, b)
}

// sameData compares the data of two records of one type.
func sameData(a, b dns.RR) bool {
	switch x := a.(type) {
	case *dns.PTR:
		y, ok := b.(*dns.PTR)
		return ok && strings.EqualFold(x.Ptr, y.Ptr)
	case *dns.SRV:
		y, ok := b.(*dns.SRV)
		return ok && x.Port == y.Port && x.Priority == y.Priority && x.Weight == y.Weight &&
			strings.EqualFold(x.Target, y.Target)
	case *dns.TXT:
		y, ok := b.(*dns.TXT)
		return ok && slices.Equal(x.Txt, y.Txt)
	case *dns.A:
		y, ok := b.(*dns.A)
		return ok && x.A.Equal(y.A)
	}
	return false
}

// rdata returns a record's data in wire form, for the probe tie-break.
func rdata(rr dns.RR) []byte {
	c := dns.Copy(rr)
	c.Header().Class &^= cacheFlush
	buf := make([]byte, 512)
	off, err := dns.PackRR(c, buf, 0, nil, false)
	if err != nil {
		return nil
	}
	return buf[off-int(c.Header().Rdlength) : off]
}

// lexCompare orders two sets of records for one name as RFC 6762 §8.2
// says: sorted by class, type and data, compared pairwise, the longer set
// winning a tie of the common part.
func lexCompare(ours, theirs []dns.RR) int {
	type key struct {
		class, rrtype uint16
		data          []byte
	}
	keys := func(rrs []dns.RR) []key {
		out := make([]key, 0, len(rrs))
		for _, rr := range rrs {
			h := rr.Header()
			out = append(out, key{h.Class &^ cacheFlush, h.Rrtype, rdata(rr)})
		}
		sort.Slice(out, func(i, j int) bool {
			a, b := &out[i], &out[j]
			if a.class != b.class {
				return a.class < b.class
			}
			if a.rrtype != b.rrtype {
				return a.rrtype < b.rrtype
			}
			return bytes.Compare(a.data, b.data) < 0
		})
		return out
	}
	a, b := keys(ours), keys(theirs)
	for i := range min(len(a), len(b)) {
		switch {
		case a[i].class != b[i].class:
			return int(a[i].class) - int(b[i].class)
		case a[i].rrtype != b[i].rrtype:
			return int(a[i].rrtype) - int(b[i].rrtype)
		}
		if c := bytes.Compare(a[i].data, b[i].data); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// conflicts reports whether a response claims one of our unique names
// with data that is not ours (RFC 6762 §9). ours tells whether an address
// is one of the agent's own.
func conflicts(resp *dns.Msg, n names, r records, ours func(net.IP) bool) bool {
	for _, sec := range [][]dns.RR{resp.Answer, resp.Ns, resp.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Ttl == 0 || h.Class&^cacheFlush != dns.ClassINET {
				continue
			}
			switch strings.ToLower(h.Name) {
			case n.instance:
				switch h.Rrtype {
				case dns.TypeSRV:
					if !sameData(rr, r.srv) {
						return true
					}
				case dns.TypeTXT:
					if !sameData(rr, r.txt) {
						return true
					}
				}
			case n.host:
				if a, ok := rr.(*dns.A); ok && !ours(a.A) {
					return true
				}
			}
		}
	}
	return false
}

// probeOutcome says what another host's simultaneous probe means for ours
// (RFC 6762 §8.2): lost when its records for one of our names sort after
// ours.
func probeLost(q *dns.Msg, n names, r records) bool {
	var inst, host []dns.RR
	for i, rr := range q.Ns {
		if i == maxQuestions {
			break
		}
		switch strings.ToLower(rr.Header().Name) {
		case n.instance:
			inst = append(inst, rr)
		case n.host:
			host = append(host, rr)
		}
	}
	return (len(inst) > 0 && lexCompare([]dns.RR{r.srv, r.txt}, inst) < 0) ||
		(len(host) > 0 && len(r.a) > 0 && lexCompare(r.a, host) < 0)
}
