package mdns

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
)

// Responder timings (RFC 6762 §8).
const (
	probeInterval  = 250 * time.Millisecond
	probes         = 3
	announcements  = 3 // at 0, 1 and 3 s
	addrCheckEvery = 30 * time.Second
)

// responder answers for the agent's own _hubagent._tcp instance on the
// stack's socket: it probes for its names, announces, answers queries
// heard on the chosen interfaces, defends and renames on conflicts, and
// says goodbye when it stops.
type responder struct {
	opts AdvertiseOptions
	log  *slog.Logger
	sock *socket
	sent atomic.Uint64

	mu        sync.Mutex
	instance  string // current instance name, renamed on conflicts
	host      string // current host label
	n         names
	announced bool
	addrs     map[int][]net.IP     // IPv4 addresses by interface index
	lastMC    map[string]time.Time // interface index + record → last multicast
	restart   chan bool            // true: conflict, rename; false: lost a tie-break
	renames   int
}

func newResponder(opts AdvertiseOptions, sock *socket, log *slog.Logger) (*responder, error) {
	r := &responder{opts: opts, log: log, sock: sock, instance: opts.Instance, host: opts.Host,
		addrs: map[int][]net.IP{}, lastMC: map[string]time.Time{}, restart: make(chan bool, 1)}
	if err := r.setNames(); err != nil {
		return nil, err
	}
	r.refreshAddrs()
	return r, nil
}

// setNames computes the names from the current instance and host label.
func (r *responder) setNames() error {
	svc, err := canonical(AgentService + ".local.")
	if err != nil {
		return err
	}
	inst, err := canonical(escapeLabel(r.instance) + "." + AgentService + ".local.")
	if err != nil {
		return err
	}
	host, err := canonical(r.host + ".local.")
	if err != nil {
		return err
	}
	r.n = names{service: lower(svc), instance: lower(inst), host: lower(host)}
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// refreshAddrs reads the chosen interfaces' IPv4 addresses and reports
// whether they changed.
func (r *responder) refreshAddrs() bool {
	fresh := map[int][]net.IP{}
	for _, ifi := range r.sock.ifaces {
		for _, a := range ipv4Addrs(ifi) {
			fresh[ifi.Index] = append(fresh[ifi.Index], net.IP(a.AsSlice()))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := len(fresh) != len(r.addrs)
	for k, v := range fresh {
		changed = changed || !slices.EqualFunc(v, r.addrs[k], net.IP.Equal)
	}
	r.addrs = fresh
	return changed
}

// recordsLocked are the records for one interface, with TTLs, or goodbye
// records (TTL 0). ok is false where the interface has no IPv4 address:
// nothing is announced there, as no one could reach the agent.
func (r *responder) recordsLocked(ifIndex int, goodbye bool) (records, bool) {
	addrs := r.addrs[ifIndex]
	if len(addrs) == 0 {
		return records{}, false
	}
	th, to := uint32(hostTTL), uint32(otherTTL)
	if goodbye {
		th, to = 0, 0
	}
	return makeRecords(r.n, r.opts.Port, AgentTXT(r.opts.HubID, r.opts.Version), addrs, th, to), true
}

// ours reports whether ip is an address of a chosen interface.
func (r *responder) oursLocked(ip net.IP) bool {
	for _, as := range r.addrs {
		if slices.ContainsFunc(as, ip.Equal) {
			return true
		}
	}
	return false
}

// Advertising returns the announced instance name, "" while probing.
func (r *responder) Advertising() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.announced {
		return ""
	}
	return r.instance
}

// hasAddrs reports whether the interface gets announcements.
func (r *responder) hasAddrs(ifIndex int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.addrs[ifIndex]) > 0
}

func (r *responder) signal(rename bool) {
	select {
	case r.restart <- rename:
	default:
	}
}

// onResponse checks a response heard on a chosen interface for a conflict
// with our unique records.
func (r *responder) onResponse(p packet) {
	if p.src == nil || p.src.Port != 5353 {
		return
	}
	r.mu.Lock()
	rs, ok := r.recordsLocked(p.ifi.Index, false)
	conflict := ok && conflicts(p.msg, r.n, rs, r.oursLocked)
	r.mu.Unlock()
	if conflict {
		r.signal(true)
	}
}

// onQuery answers a query heard on a chosen interface.
func (r *responder) onQuery(p packet) {
	if p.src == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	rs, ok := r.recordsLocked(p.ifi.Index, false)
	if !ok {
		r.mu.Unlock()
		return
	}
	if !r.announced {
		lost := len(p.msg.Ns) > 0 && probeLost(p.msg, r.n, rs)
		r.mu.Unlock()
		if lost {
			r.signal(false)
		}
		return // no answers while probing (§8.1)
	}
	if p.src.Port != 5353 {
		// A one-shot resolver (§6.7): unicast back with its ID and
		// question, short TTLs, no cache-flush bits.
		r.mu.Unlock()
		r.legacyAnswer(p, rs)
		return
	}
	ans, extra, unicast, shared := answer(p.msg, r.n, rs)
	if len(ans) == 0 {
		r.mu.Unlock()
		return
	}
	if !unicast {
		// One multicast of a record per second and interface (§6), a
		// quarter of that to defend against a probe (§8.1).
		gap := time.Second
		if len(p.msg.Ns) > 0 {
			gap = probeInterval
		}
		ans = slices.DeleteFunc(ans, func(rr dnsmsg.RR) bool {
			return now.Sub(r.lastMC[mcKey(p.ifi.Index, rr)]) < gap
		})
		for _, rr := range ans {
			r.lastMC[mcKey(p.ifi.Index, rr)] = now
		}
	}
	r.mu.Unlock()
	if len(ans) == 0 {
		return
	}
	m := new(dnsmsg.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer, m.Extra = ans, extra
	if unicast {
		r.send(m, p.ifi, p.src)
		return
	}
	if shared {
		// Shared answers wait 20–120 ms so several responders do not
		// answer at the same instant (§6).
		time.AfterFunc(20*time.Millisecond+rand.N(100*time.Millisecond), func() { r.send(m, p.ifi, nil) })
		return
	}
	r.send(m, p.ifi, nil)
}

func (r *responder) legacyAnswer(p packet, rs records) {
	ans, extra, _, _ := answer(p.msg, r.n, rs)
	if len(ans) == 0 {
		return
	}
	m := new(dnsmsg.Msg)
	m.ID, m.Response, m.Authoritative = p.msg.ID, true, true
	m.Question = p.msg.Question[:min(len(p.msg.Question), maxQuestions)]
	for _, rr := range append(slices.Clone(ans), extra...) {
		c := dnsmsg.Copy(rr)
		c.Header().Class &^= cacheFlush
		c.Header().Ttl = min(c.Header().Ttl, legacyTTL)
		if slices.Contains(ans, rr) {
			m.Answer = append(m.Answer, c)
		} else {
			m.Extra = append(m.Extra, c)
		}
	}
	r.send(m, p.ifi, p.src)
}

func mcKey(ifIndex int, rr dnsmsg.RR) string {
	return fmt.Sprint(ifIndex, " ", rr.Header().Rrtype, " ", lower(rr.Header().Name), " ", rr.String())
}

// send multicasts m on ifi, or unicasts it to to when set.
func (r *responder) send(m *dnsmsg.Msg, ifi *net.Interface, to *net.UDPAddr) {
	var err error
	if to != nil {
		err = r.sock.unicast(m, ifi, to)
	} else {
		err = r.sock.multicast(m, ifi)
	}
	if err != nil {
		r.log.Debug("mdns: answer not sent", "interface", ifi.Name, "err", err)
		return
	}
	r.sent.Add(1)
}

// each sends what build makes for every interface with an IPv4 address.
func (r *responder) each(build func(rs records) *dnsmsg.Msg, goodbye bool) {
	for i := range r.sock.ifaces {
		ifi := &r.sock.ifaces[i]
		r.mu.Lock()
		rs, ok := r.recordsLocked(ifi.Index, goodbye)
		r.mu.Unlock()
		if ok {
			r.send(build(rs), ifi, nil)
		}
	}
}

// probe asks whether anyone else holds our names, offering our records in
// the authority section for the tie-break (§8.1, §8.2).
func (r *responder) probe() {
	r.mu.Lock()
	n := r.n
	r.mu.Unlock()
	r.each(func(rs records) *dnsmsg.Msg {
		m := new(dnsmsg.Msg)
		m.Question = []dnsmsg.Question{{Name: n.instance, Qtype: dnsmsg.TypeANY, Qclass: dnsmsg.ClassINET},
			{Name: n.host, Qtype: dnsmsg.TypeANY, Qclass: dnsmsg.ClassINET}}
		for _, rr := range append([]dnsmsg.RR{rs.srv, rs.txt}, rs.a...) {
			c := dnsmsg.Copy(rr)
			c.Header().Class &^= cacheFlush
			m.Ns = append(m.Ns, c)
		}
		return m
	}, false)
}

// announce multicasts every record unsolicited (§8.3), or withdraws them
// with TTL 0 (§10.1).
func (r *responder) announce(goodbye bool) {
	now := time.Now()
	r.each(func(rs records) *dnsmsg.Msg {
		m := new(dnsmsg.Msg)
		m.Response, m.Authoritative = true, true
		m.Answer = rs.all()
		return m
	}, goodbye)
	if !goodbye {
		r.mu.Lock()
		for i := range r.sock.ifaces {
			if rs, ok := r.recordsLocked(r.sock.ifaces[i].Index, false); ok {
				for _, rr := range rs.all() {
					r.lastMC[mcKey(r.sock.ifaces[i].Index, rr)] = now
				}
			}
		}
		r.mu.Unlock()
	}
}

// rename picks the next name after a conflict: "name (2)", "name (3)" …
// and "host-2", "host-3" … (RFC 6763 §9 style).
func (r *responder) rename() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.renames++
	r.instance = fmt.Sprintf("%s (%d)", r.opts.Instance, r.renames+1)
	r.host = fmt.Sprintf("%s-%d", r.opts.Host, r.renames+1)
	if err := r.setNames(); err != nil {
		r.log.Warn("mdns: rename", "err", err)
	}
	r.lastMC = map[string]time.Time{}
}

func (r *responder) setAnnounced(v bool) {
	r.mu.Lock()
	r.announced = v
	r.mu.Unlock()
}

// run probes, announces and keeps the announcement current until ctx
// ends, then says goodbye. Answers are given by onQuery meanwhile.
func (r *responder) run(ctx context.Context) {
	wait := func(d time.Duration) (restart, rename bool) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false, false
		case rename := <-r.restart:
			return true, rename
		case <-t.C:
			return false, false
		}
	}
	delay := rand.N(probeInterval) // §8.1: a random 0–250 ms first
	for ctx.Err() == nil {
		if again, rename := wait(delay); again {
			r.restarted(rename)
			delay = time.Second
			continue
		}
		lost, rename := false, false
		for i := 0; i < probes && ctx.Err() == nil && !lost; i++ {
			r.probe()
			lost, rename = wait(probeInterval)
		}
		if ctx.Err() != nil {
			return
		}
		if lost {
			r.restarted(rename)
			delay = time.Second // §8.1/§8.2: back off before probing again
			continue
		}
		r.setAnnounced(true)
		r.log.Info("mdns: advertised as "+AgentService, "instance", r.Advertising(), "port", r.opts.Port)
		lost, rename = r.steady(ctx, wait)
		r.setAnnounced(false)
		if !lost {
			break
		}
		r.restarted(rename)
		delay = 0
	}
	// Goodbye twice: one lost packet would leave the name listed for the
	// full TTL.
	r.announce(true)
	time.Sleep(probeInterval)
	r.announce(true)
}

// steady announces, then re-announces when an address changes, until a
// conflict or the end of ctx.
func (r *responder) steady(ctx context.Context, wait func(time.Duration) (bool, bool)) (restart, rename bool) {
	gap := time.Second
	for i := 0; i < announcements; i++ {
		r.announce(false)
		if restart, rename = wait(gap); restart || ctx.Err() != nil {
			return restart, rename
		}
		gap *= 2
	}
	for ctx.Err() == nil {
		if restart, rename = wait(addrCheckEvery); restart {
			return restart, rename
		}
		if ctx.Err() == nil && r.refreshAddrs() {
			r.log.Info("mdns: addresses changed; announcing again")
			r.announce(false)
		}
	}
	return false, false
}

func (r *responder) restarted(rename bool) {
	if !rename {
		return
	}
	r.mu.Lock()
	old := r.instance
	r.mu.Unlock()
	r.rename()
	r.mu.Lock()
	inst := r.instance
	r.mu.Unlock()
	r.log.Warn("mdns: name in use on the link; renamed", "was", old, "now", inst)
}
