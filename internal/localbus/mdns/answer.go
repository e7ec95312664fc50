package mdns

import (
	"bytes"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
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

// names are the agent's names in the presentation form dnsmsg unpacks them to,
// lower-cased for comparison.
type names struct {
	service  string // "_hubagent._tcp.local."
	instance string // "hubagent\ 1a2b3c4d._hubagent._tcp.local."
	host     string // "hubagent-1a2b3c4d.local."
}

// records are the agent's records as answered on one interface.
type records struct {
	ptr, enum, srv, txt dnsmsg.RR
	a                   []dnsmsg.RR // the interface's IPv4 addresses
}

func makeRecords(n names, port int, txt []string, addrs []net.IP, ttlHost, ttlOther uint32) records {
	hdr := func(name string, t uint16, ttl uint32, unique bool) dnsmsg.RRHeader {
		class := uint16(dnsmsg.ClassINET)
		if unique {
			class |= cacheFlush
		}
		return dnsmsg.RRHeader{Name: name, Rrtype: t, Class: class, Ttl: ttl}
	}
	r := records{
		ptr:  &dnsmsg.PTR{Hdr: hdr(n.service, dnsmsg.TypePTR, ttlOther, false), Ptr: n.instance},
		enum: &dnsmsg.PTR{Hdr: hdr(servicesEnum, dnsmsg.TypePTR, ttlOther, false), Ptr: n.service},
		srv:  &dnsmsg.SRV{Hdr: hdr(n.instance, dnsmsg.TypeSRV, ttlHost, true), Port: uint16(port), Target: n.host},
		txt:  &dnsmsg.TXT{Hdr: hdr(n.instance, dnsmsg.TypeTXT, ttlOther, true), Txt: txt},
	}
	for _, ip := range addrs {
		r.a = append(r.a, &dnsmsg.A{Hdr: hdr(n.host, dnsmsg.TypeA, ttlHost, true), A: ip})
	}
	return r
}

// all lists every record, for announcements and goodbyes.
func (r records) all() []dnsmsg.RR {
	return append([]dnsmsg.RR{r.ptr, r.srv, r.txt}, r.a...)
}

// answer picks the records a query asks for (RFC 6762 §6), with the
// additional records a resolver will want next (RFC 6763 §12), leaving
// out what the query lists as known answers with at least half our TTL
// (§7.1). unicast reports whether every question asked for a unicast
// response (§5.4). shared reports whether a shared record (PTR) is among
// the answers, which calls for a short random delay when multicast (§6).
func answer(q *dnsmsg.Msg, n names, r records) (ans, extra []dnsmsg.RR, unicast, shared bool) {
	if q.Response || q.Opcode != dnsmsg.OpcodeQuery || q.Rcode != dnsmsg.RcodeSuccess {
		return nil, nil, false, false
	}
	unicast = len(q.Question) > 0
	add := func(list []dnsmsg.RR, rrs ...dnsmsg.RR) []dnsmsg.RR {
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
		if class != dnsmsg.ClassINET && class != dnsmsg.ClassANY {
			continue
		}
		unicast = unicast && qu.Qclass&cacheFlush != 0
		any := qu.Qtype == dnsmsg.TypeANY
		switch strings.ToLower(qu.Name) {
		case n.service:
			if any || qu.Qtype == dnsmsg.TypePTR {
				ans = add(ans, r.ptr)
			}
		case servicesEnum:
			if any || qu.Qtype == dnsmsg.TypePTR {
				ans = add(ans, r.enum)
			}
		case n.instance:
			if any || qu.Qtype == dnsmsg.TypeSRV {
				ans = add(ans, r.srv)
			}
			if any || qu.Qtype == dnsmsg.TypeTXT {
				ans = add(ans, r.txt)
			}
		case n.host:
			if any || qu.Qtype == dnsmsg.TypeA {
				ans = add(ans, r.a...)
			}
		}
	}
	if len(ans) == 0 {
		return nil, nil, false, false
	}
	withExtra := func(rrs ...dnsmsg.RR) {
		for _, rr := range rrs {
			if !containsRecord(ans, rr) {
				extra = add(extra, rr)
			}
		}
	}
	for _, rr := range ans {
		switch rr.Header().Rrtype {
		case dnsmsg.TypePTR:
			if rr == r.ptr {
				shared = true
				withExtra(r.srv, r.txt)
				withExtra(r.a...)
			} else {
				shared = true
			}
		case dnsmsg.TypeSRV:
			withExtra(r.a...)
		}
	}
	return ans, extra, unicast, shared
}

// knownAnswer reports whether a query's known-answer list holds rr with at
// least half its TTL (RFC 6762 §7.1).
func knownAnswer(known []dnsmsg.RR, rr dnsmsg.RR) bool {
	for _, k := range known {
		if sameRecord(k, rr) && k.Header().Ttl >= rr.Header().Ttl/2 {
			return true
		}
	}
	return false
}

func containsRecord(list []dnsmsg.RR, rr dnsmsg.RR) bool {
	return slices.ContainsFunc(list, func(x dnsmsg.RR) bool { return sameRecord(x, rr) })
}

// sameRecord compares name, type and data, not class bits or TTL.
func sameRecord(a, b dnsmsg.RR) bool {
	ha, hb := a.Header(), b.Header()
	if ha.Rrtype != hb.Rrtype || !strings.EqualFold(ha.Name, hb.Name) {
		return false
	}
	return sameData(a, b)
}

// sameData compares the data of two records of one type.
func sameData(a, b dnsmsg.RR) bool {
	switch x := a.(type) {
	case *dnsmsg.PTR:
		y, ok := b.(*dnsmsg.PTR)
		return ok && strings.EqualFold(x.Ptr, y.Ptr)
	case *dnsmsg.SRV:
		y, ok := b.(*dnsmsg.SRV)
		return ok && x.Port == y.Port && x.Priority == y.Priority && x.Weight == y.Weight &&
			strings.EqualFold(x.Target, y.Target)
	case *dnsmsg.TXT:
		y, ok := b.(*dnsmsg.TXT)
		return ok && slices.Equal(x.Txt, y.Txt)
	case *dnsmsg.A:
		y, ok := b.(*dnsmsg.A)
		return ok && x.A.Equal(y.A)
	}
	return false
}

// rdata returns a record's data in wire form, for the probe tie-break.
func rdata(rr dnsmsg.RR) []byte {
	b, err := dnsmsg.Rdata(rr)
	if err != nil {
		return nil
	}
	return b
}

// lexCompare orders two sets of records for one name as RFC 6762 §8.2
// says: sorted by class, type and data, compared pairwise, the longer set
// winning a tie of the common part.
func lexCompare(ours, theirs []dnsmsg.RR) int {
	type key struct {
		class, rrtype uint16
		data          []byte
	}
	keys := func(rrs []dnsmsg.RR) []key {
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
func conflicts(resp *dnsmsg.Msg, n names, r records, ours func(net.IP) bool) bool {
	for _, sec := range [][]dnsmsg.RR{resp.Answer, resp.Ns, resp.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Ttl == 0 || h.Class&^cacheFlush != dnsmsg.ClassINET {
				continue
			}
			switch strings.ToLower(h.Name) {
			case n.instance:
				switch h.Rrtype {
				case dnsmsg.TypeSRV:
					if !sameData(rr, r.srv) {
						return true
					}
				case dnsmsg.TypeTXT:
					if !sameData(rr, r.txt) {
						return true
					}
				}
			case n.host:
				if a, ok := rr.(*dnsmsg.A); ok && !ours(a.A) {
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
func probeLost(q *dnsmsg.Msg, n names, r records) bool {
	var inst, host []dnsmsg.RR
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
	return (len(inst) > 0 && lexCompare([]dnsmsg.RR{r.srv, r.txt}, inst) < 0) ||
		(len(host) > 0 && len(r.a) > 0 && lexCompare(r.a, host) < 0)
}
