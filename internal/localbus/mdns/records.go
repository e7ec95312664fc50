package mdns

import (
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
)

// maxPacket keeps queries inside one Ethernet frame (RFC 6762 §17).
const maxPacket = 1400

// entry is one instance with the lifetimes of the records that make it up.
type entry struct {
	inst      Instance
	fqdn      string // instance name as in the records, escaped
	service   string // lower-case service FQDN
	ptrExp    time.Time
	ptrTTL    time.Duration
	srvExp    time.Time
	srvTTL    time.Duration
	refreshed int // refresh queries sent for the current record lifetimes
	// While the instance lacks its SRV or address (askFor: the type asked
	// for), the follow-up question is asked again at nextAsk, askWait after
	// the last time.
	askFor  uint16
	nextAsk time.Time
	askWait time.Duration
}

// missing returns the follow-up questions the instance still needs
// answered: SRV and TXT until it has a port, then A until it has an
// address.
func (e *entry) missing() []dnsmsg.Question {
	switch {
	case e.inst.Gone:
		return nil
	case e.inst.Port == 0:
		return []dnsmsg.Question{{Name: e.fqdn, Qtype: dnsmsg.TypeSRV, Qclass: dnsmsg.ClassINET},
			{Name: e.fqdn, Qtype: dnsmsg.TypeTXT, Qclass: dnsmsg.ClassINET}}
	case len(e.inst.Addresses) == 0 && e.inst.Host != "":
		return []dnsmsg.Question{{Name: e.hostFQDN(), Qtype: dnsmsg.TypeA, Qclass: dnsmsg.ClassINET}}
	}
	return nil
}

// addrRR is one A record of a host.
type addrRR struct {
	exp  time.Time
	seen time.Time
}

// expiry is when the instance is gone unless refreshed: its PTR or SRV
// record, whichever ends first.
func (e *entry) expiry() (time.Time, time.Duration) {
	if !e.srvExp.IsZero() && e.srvExp.Before(e.ptrExp) {
		return e.srvExp, e.srvTTL
	}
	return e.ptrExp, e.ptrTTL
}

// handle applies one response and returns the instances that changed.
func (b *Browser) handle(msg *dnsmsg.Msg, ifName string, now time.Time) []Instance {
	rrs := make([]dnsmsg.RR, 0, len(msg.Answer)+len(msg.Extra))
	rrs = append(append(rrs, msg.Answer...), msg.Extra...)
	b.mu.Lock()
	defer b.mu.Unlock()
	touched := map[*entry]Instance{}
	touch := func(e *entry) {
		if _, ok := touched[e]; !ok {
			touched[e] = e.inst.clone()
		}
	}
	// PTR first, then SRV and TXT, then addresses: a responder may order
	// the records of one answer any way it likes.
	for _, rr := range rrs {
		ptr, ok := rr.(*dnsmsg.PTR)
		if !ok {
			continue
		}
		svc := strings.ToLower(ptr.Hdr.Name)
		if _, browsed := b.services[svc]; !browsed {
			continue
		}
		e := b.lookup(ptr.Ptr, svc, ifName, now, ptr.Hdr.Ttl > 0)
		if e == nil {
			continue
		}
		touch(e)
		if ptr.Hdr.Ttl == 0 {
			e.inst.Gone = true // goodbye (RFC 6762 §10.1)
			continue
		}
		e.ptrTTL = ttl(ptr.Hdr.Ttl)
		e.ptrExp = now.Add(e.ptrTTL)
		e.refreshed = 0
		e.inst.Gone = false
		e.inst.LastSeen = now
	}
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dnsmsg.SRV:
			e := b.lookupRecord(rr.Hdr.Name, ifName, now, rr.Hdr.Ttl > 0)
			if e == nil {
				continue
			}
			touch(e)
			if rr.Hdr.Ttl == 0 {
				e.inst.Gone = true
				continue
			}
			e.srvTTL = ttl(rr.Hdr.Ttl)
			e.srvExp = now.Add(e.srvTTL)
			e.refreshed = 0
			e.inst.Host = unescapeName(strings.ToLower(rr.Target))
			e.inst.Port = int(rr.Port)
			e.inst.LastSeen = now
			if e.inst.Gone && !e.ptrExp.IsZero() && e.ptrExp.After(now) {
				e.inst.Gone = false
			}
		case *dnsmsg.TXT:
			e := b.lookupRecord(rr.Hdr.Name, ifName, now, false)
			if e == nil || rr.Hdr.Ttl == 0 {
				continue
			}
			touch(e)
			raw := make([]string, 0, min(len(rr.Txt), 4*MaxTXTEntries))
			for _, t := range rr.Txt[:cap(raw)] {
				raw = append(raw, unescape(t))
			}
			txt, truncated := ParseTXT(raw)
			truncated = truncated || len(rr.Txt) > len(raw)
			if truncated {
				b.log.Debug("mdns: TXT record cut to bounds", "instance", e.inst.Name)
			}
			e.inst.TXT = txt
		}
	}
	hostsSeen := map[string]bool{}
	for _, rr := range rrs {
		a, ok := rr.(*dnsmsg.A)
		if !ok {
			continue
		}
		host := strings.ToLower(a.Hdr.Name)
		addrs := b.hosts[host]
		if addrs == nil {
			if a.Hdr.Ttl == 0 || len(b.hosts) >= 2*b.opts.MaxInstances {
				continue
			}
			addrs = map[string]addrRR{}
			b.hosts[host] = addrs
		}
		ip := a.A.String()
		if a.Hdr.Ttl == 0 {
			delete(addrs, ip)
		} else {
			if a.Hdr.Class&(1<<15) != 0 {
				// Cache-flush bit: this answer is the whole set, so older
				// addresses (a device that moved) go after one second.
				for old, r := range addrs {
					if old != ip && now.Sub(r.seen) > time.Second {
						delete(addrs, old)
					}
				}
			}
			if len(addrs) < 16 {
				addrs[ip] = addrRR{exp: now.Add(ttl(a.Hdr.Ttl)), seen: now}
			}
		}
		hostsSeen[unescapeName(host)] = true
	}
	if len(hostsSeen) > 0 {
		for _, e := range b.entries {
			if hostsSeen[e.inst.Host] {
				touch(e)
			}
		}
	}
	var changed []Instance
	for e, before := range touched {
		e.inst.Addresses = b.addresses(e.inst.Host, now)
		if e.inst.Gone && !before.Gone {
			e.inst.LastSeen = now
		}
		if differs(before, e.inst) {
			changed = append(changed, e.inst.clone())
		}
		for _, q := range e.missing() {
			b.ask(q.Name, q.Qtype)
		}
	}
	return changed
}

func (e *entry) hostFQDN() string {
	if e.inst.Host == "" {
		return ""
	}
	return dnsmsg.Fqdn(e.inst.Host)
}

// ask queues a follow-up question and wakes the sender.
func (b *Browser) ask(name string, qtype uint16) {
	if name == "" || len(b.pending) > 256 {
		return
	}
	q := dnsmsg.Question{Name: name, Qtype: qtype, Qclass: dnsmsg.ClassINET}
	if slices.Contains(b.pending, q) {
		return
	}
	b.pending = append(b.pending, q)
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func differs(a, b Instance) bool {
	return a.Gone != b.Gone || a.Host != b.Host || a.Port != b.Port ||
		!slices.Equal(a.Addresses, b.Addresses) || !maps.Equal(a.TXT, b.TXT) || a.FirstSeen != b.FirstSeen
}

func ttl(s uint32) time.Duration {
	// A bogus huge TTL must not pin an entry for years.
	return time.Duration(min(s, 24*3600)) * time.Second
}

// lookup returns the entry of an instance of a browsed service, creating it
// when create is set and the table has room.
func (b *Browser) lookup(fqdn, svc, ifName string, now time.Time, create bool) *entry {
	key := strings.ToLower(fqdn)
	if e, ok := b.entries[key]; ok {
		return e
	}
	if !create || !strings.HasSuffix(key, "."+svc) {
		return nil
	}
	if len(b.entries) >= b.opts.MaxInstances && !b.evictGone() {
		if b.dropped.Add(1) == 1 {
			b.log.Warn("mdns: instance table full; new instances are not recorded", "max", b.opts.MaxInstances)
		}
		return nil
	}
	name := unescapeName(fqdn[:len(fqdn)-len(svc)-1])
	service := b.services[svc]
	e := &entry{fqdn: fqdn, service: svc, inst: Instance{Name: name, Service: service,
		FirstSeen: now, LastSeen: now, Interface: ifName}}
	e.inst.Status = b.statuses[e.inst.Key()]
	b.entries[key] = e
	b.log.Debug("mdns: new instance", slog.String("service", service), slog.String("instance", name))
	return e
}

// lookupRecord finds the entry an SRV or TXT record belongs to.
func (b *Browser) lookupRecord(name, ifName string, now time.Time, create bool) *entry {
	key := strings.ToLower(name)
	if e, ok := b.entries[key]; ok {
		return e
	}
	for svc := range b.services {
		if strings.HasSuffix(key, "."+svc) {
			return b.lookup(name, svc, ifName, now, create)
		}
	}
	return nil
}

// evictGone drops the gone instance seen least recently.
func (b *Browser) evictGone() bool {
	var oldest string
	var at time.Time
	for k, e := range b.entries {
		if e.inst.Gone && (oldest == "" || e.inst.LastSeen.Before(at)) {
			oldest, at = k, e.inst.LastSeen
		}
	}
	if oldest == "" {
		return false
	}
	delete(b.entries, oldest)
	return true
}

// addresses lists a host's unexpired addresses, sorted.
func (b *Browser) addresses(host string, now time.Time) []string {
	addrs := b.hosts[strings.ToLower(dnsmsg.Fqdn(host))]
	if host == "" || len(addrs) == 0 {
		return nil
	}
	out := make([]string, 0, len(addrs))
	for ip, r := range addrs {
		if r.exp.After(now) {
			out = append(out, ip)
		}
	}
	slices.Sort(out)
	return out
}

// tick expires records, drops old gone instances, and builds the queries
// due now: the browse query (with known answers, RFC 6762 §7.1) when browse
// is set, refreshes of records at 80 % and 90 % of their TTL (§5.2), and
// queued follow-ups. It returns when it next has something to do.
func (b *Browser) tick(now time.Time, browse bool) (msgs []*dnsmsg.Msg, changed []Instance, next time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next = now.Add(time.Minute)
	questions := b.pending
	b.pending = nil
	var known []dnsmsg.RR
	type due2 struct {
		e        *entry
		due      time.Time
		lifetime time.Duration
	}
	var refresh []due2
	for host, addrs := range b.hosts {
		for ip, r := range addrs {
			if !r.exp.After(now) {
				delete(addrs, ip)
			}
		}
		if len(addrs) == 0 {
			delete(b.hosts, host)
		}
	}
	for key, e := range b.entries {
		if e.inst.Gone {
			if now.Sub(e.inst.LastSeen) > b.opts.GoneRetention {
				delete(b.entries, key)
			}
			continue
		}
		exp, lifetime := e.expiry()
		if !exp.After(now) {
			e.inst.Gone = true
			e.inst.Addresses = nil
			changed = append(changed, e.inst.clone())
			continue
		}
		if addrs := b.addresses(e.inst.Host, now); !slices.Equal(addrs, e.inst.Addresses) {
			e.inst.Addresses = addrs
			changed = append(changed, e.inst.clone())
		}
		// A follow-up answer lost on the way (Wi-Fi drops multicast) would
		// not come again by itself: once the PTR is a known answer, the
		// browse query no longer brings the records with it. So what is
		// missing is asked again, 1 s after the first try and then at
		// doubling intervals, as browse queries are (RFC 6762 §5.2).
		if qs := e.missing(); qs == nil {
			e.askFor, e.nextAsk, e.askWait = 0, time.Time{}, 0
		} else {
			if e.askFor != qs[0].Qtype { // newly missing: asked when it was found
				e.askFor = qs[0].Qtype
				e.askWait = time.Second
				e.nextAsk = now.Add(e.askWait)
			} else if !now.Before(e.nextAsk) {
				questions = append(questions, qs...)
				e.askWait = min(2*e.askWait, b.opts.MaxQueryInterval)
				e.nextAsk = now.Add(e.askWait)
			}
			if e.nextAsk.Before(next) {
				next = e.nextAsk
			}
		}
		if e.refreshed < 2 {
			// Refresh points at 80 % and 90 % of the lifetime.
			frac := 0.8 + 0.1*float64(e.refreshed)
			due := exp.Add(-time.Duration((1 - frac) * float64(lifetime)))
			refresh = append(refresh, due2{e, due, lifetime})
			if due.Before(next) {
				next = due
			}
		}
		if exp.Before(next) {
			next = exp
		}
		if e.ptrExp.Sub(now) > e.ptrTTL/2 {
			known = append(known, &dnsmsg.PTR{Hdr: dnsmsg.RRHeader{Name: e.service, Rrtype: dnsmsg.TypePTR,
				Class: dnsmsg.ClassINET, Ttl: uint32(e.ptrExp.Sub(now) / time.Second)}, Ptr: e.fqdn})
		}
	}
	// Once one record is due, every record due within the next tenth of
	// its lifetime is refreshed in the same packet: one responder's
	// instances then cost one query rather than one each.
	anyDue := false
	for _, r := range refresh {
		anyDue = anyDue || !r.due.After(now)
	}
	for _, r := range refresh {
		if !anyDue || r.due.After(now.Add(r.lifetime/10)) {
			continue
		}
		r.e.refreshed++
		// The PTR question refreshes the PTR record when it is the one
		// running out; known answers keep the others quiet.
		questions = append(questions, dnsmsg.Question{Name: r.e.service, Qtype: dnsmsg.TypePTR, Qclass: dnsmsg.ClassINET},
			dnsmsg.Question{Name: r.e.fqdn, Qtype: dnsmsg.TypeSRV, Qclass: dnsmsg.ClassINET},
			dnsmsg.Question{Name: r.e.fqdn, Qtype: dnsmsg.TypeTXT, Qclass: dnsmsg.ClassINET})
		if h := r.e.hostFQDN(); h != "" {
			questions = append(questions, dnsmsg.Question{Name: h, Qtype: dnsmsg.TypeA, Qclass: dnsmsg.ClassINET})
		}
	}
	if anyDue {
		next = now // the next points are computed on the next tick
	}
	if browse {
		for _, svc := range slices.Sorted(maps.Keys(b.services)) {
			questions = append(questions, dnsmsg.Question{Name: svc, Qtype: dnsmsg.TypePTR, Qclass: dnsmsg.ClassINET})
		}
	}
	return pack(dedupe(questions), known), changed, next
}

func dedupe(qs []dnsmsg.Question) []dnsmsg.Question {
	seen := make(map[dnsmsg.Question]bool, len(qs))
	out := qs[:0]
	for _, q := range qs {
		q.Name = strings.ToLower(q.Name)
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

// pack puts questions into as few packets as fit, then known answers into
// the last one while room is left; answers that do not fit are left out,
// which only costs a redundant reply.
func pack(questions []dnsmsg.Question, known []dnsmsg.RR) []*dnsmsg.Msg {
	var msgs []*dnsmsg.Msg
	cur := new(dnsmsg.Msg)
	for _, q := range questions {
		cur.Question = append(cur.Question, q)
		if cur.Len() > maxPacket && len(cur.Question) > 1 {
			cur.Question = cur.Question[:len(cur.Question)-1]
			msgs = append(msgs, cur)
			cur = new(dnsmsg.Msg)
			cur.Question = []dnsmsg.Question{q}
		}
	}
	if len(cur.Question) == 0 {
		return msgs
	}
	for _, rr := range known {
		cur.Answer = append(cur.Answer, rr)
		if cur.Len() > maxPacket {
			cur.Answer = cur.Answer[:len(cur.Answer)-1]
			break
		}
	}
	return append(msgs, cur)
}
