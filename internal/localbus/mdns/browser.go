package mdns

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"
)

// Defaults of Options.
const (
	DefaultMaxInstances     = 2000
	DefaultMaxQueryInterval = time.Hour
	DefaultGoneRetention    = 24 * time.Hour
)

var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// Options configure a Browser.
type Options struct {
	// Interfaces to browse on, by name; empty means every interface that is
	// up, multicast-capable and not loopback.
	Interfaces []string
	// Services are the DNS-SD service types to browse, such as "_wled._tcp".
	Services []string
	Logger   *slog.Logger
	// MaxInstances bounds the table (default 2,000). When it is full, the
	// oldest gone instance makes room; if none is gone, new ones are dropped
	// and counted.
	MaxInstances int
	// MaxQueryInterval caps the doubling interval between browse queries
	// (default one hour, as RFC 6762 §5.2 suggests). Records are refreshed
	// at 80 % and 90 % of their TTL independently of it.
	MaxQueryInterval time.Duration
	// GoneRetention is how long a gone instance stays listed (default 24 h).
	GoneRetention time.Duration
	// Advertise, when set, makes the stack also answer for the agent's own
	// _hubagent._tcp instance on the same socket and interfaces.
	Advertise *AdvertiseOptions
}

// Stats are the browser's counters, for metrics and the idle-cost test.
type Stats struct {
	PacketsSent     uint64
	PacketsReceived uint64 // on the browsed interfaces
	Malformed       uint64 // packets that did not parse as DNS
	Dropped         uint64 // instances not recorded because the table was full
	Instances       int
	AnswersSent     uint64 // announcements, answers and goodbyes of the agent's own instance
}

// Browser continuously browses the configured service types and keeps the
// table of instances. Watch and OnBroker must be called before Run.
type Browser struct {
	opts     Options
	log      *slog.Logger
	choice   Choice
	ifaces   []net.Interface
	services map[string]string         // lower-case "_wled._tcp.local." → "_wled._tcp"
	resp     atomic.Pointer[responder] // while Run runs with Options.Advertise

	mu        sync.Mutex
	entries   map[string]*entry            // lower-case instance FQDN
	hosts     map[string]map[string]addrRR // lower-case host FQDN → address
	pending   []dnsmsg.Question            // follow-up questions for the next send
	watchers  []watcher
	brokerFns []func(url string)
	broker    string // URL last handed to brokerFns
	brokerKey string // instance the broker URL came from
	statuses  map[string]string

	wake                           chan struct{}
	sent, recv, malformed, dropped atomic.Uint64
}

type watcher struct {
	service string
	fn      func(Instance)
}

// New checks the options and resolves the interfaces. Nothing is sent until
// Run.
func New(opts Options) (*Browser, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = DefaultMaxInstances
	}
	if opts.MaxQueryInterval <= 0 {
		opts.MaxQueryInterval = DefaultMaxQueryInterval
	}
	if opts.GoneRetention <= 0 {
		opts.GoneRetention = DefaultGoneRetention
	}
	if opts.Advertise != nil {
		adv := *opts.Advertise
		if err := adv.check(); err != nil {
			return nil, err
		}
		opts.Advertise = &adv
	}
	choice, err := ChooseInterfaces(opts.Interfaces)
	if err != nil {
		return nil, err
	}
	b := &Browser{
		opts: opts, log: opts.Logger, choice: choice, ifaces: choice.Interfaces,
		services: map[string]string{}, entries: map[string]*entry{},
		hosts: map[string]map[string]addrRR{}, statuses: map[string]string{}, wake: make(chan struct{}, 1),
	}
	for _, s := range opts.Services {
		s = strings.Trim(s, ".")
		if s == "" {
			continue
		}
		b.services[strings.ToLower(s)+".local."] = s
	}
	if len(b.services) == 0 && opts.Advertise == nil {
		return nil, errors.New("mdns: no service types to browse")
	}
	return b, nil
}

// Watch calls fn for every new, changed or gone instance of one service
// type. fn runs on the browser's goroutine and must return quickly.
func (b *Browser) Watch(service string, fn func(Instance)) {
	b.mu.Lock()
	b.watchers = append(b.watchers, watcher{service: strings.ToLower(strings.Trim(service, ".")), fn: fn})
	b.mu.Unlock()
}

// OnBroker calls fn with "tcp://addr:port" of the first _mqtt._tcp broker
// found, and again whenever that broker moves or, once it is gone, another
// one takes its place. _mqtt._tcp must be among the browsed services.
func (b *Browser) OnBroker(fn func(url string)) {
	b.mu.Lock()
	b.brokerFns = append(b.brokerFns, fn)
	b.mu.Unlock()
}

// SetStatus records what a driver found out about an instance ("auth
// required", "ok", ...), shown in the discovered list.
func (b *Browser) SetStatus(inst Instance, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.statuses[inst.Key()] = Sanitize(status, 200)
	for _, e := range b.entries {
		if e.inst.Key() == inst.Key() {
			e.inst.Status = b.statuses[inst.Key()]
		}
	}
}

// Instances returns a copy of the table, ordered by service then name.
func (b *Browser) Instances() []Instance {
	b.mu.Lock()
	out := make([]Instance, 0, len(b.entries))
	for _, e := range b.entries {
		out = append(out, e.inst.clone())
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		x, y := &out[i], &out[j]
		if x.Service != y.Service {
			return x.Service < y.Service
		}
		return x.Name < y.Name
	})
	return out
}

// Stats returns the counters.
func (b *Browser) Stats() Stats {
	b.mu.Lock()
	n := len(b.entries)
	b.mu.Unlock()
	st := Stats{PacketsSent: b.sent.Load(), PacketsReceived: b.recv.Load(), Malformed: b.malformed.Load(),
		Dropped: b.dropped.Load(), Instances: n}
	if r := b.resp.Load(); r != nil {
		st.AnswersSent = r.sent.Load()
	}
	return st
}

// Run opens the stack's socket on the chosen interfaces, browses, and
// answers for the agent when Options.Advertise is set, until ctx ends; the
// agent's announcement is then withdrawn with a goodbye.
func (b *Browser) Run(ctx context.Context) error {
	sock, err := openSocket(b.ifaces, b.log)
	if err != nil {
		return err
	}
	defer sock.Close()
	b.log.Info("mdns: interfaces chosen", "interfaces", strings.Join(b.choice.Names(), ","),
		"skipped", skippedText(b.choice.Skipped), "configured", len(b.opts.Interfaces) > 0)
	var resp *responder
	if b.opts.Advertise != nil {
		if resp, err = newResponder(*b.opts.Advertise, sock, b.log); err != nil {
			return err
		}
		b.resp.Store(resp)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sock.read(func(p packet) { b.receive(p, resp) }, &b.recv, &b.malformed)
	}()
	respDone := make(chan struct{})
	go func() {
		defer close(respDone)
		if resp != nil {
			resp.run(ctx)
		}
	}()
	b.loop(ctx, sock)
	<-respDone // the goodbye is out
	sock.Close()
	<-done
	return nil
}

// receive hands a packet heard on a chosen interface to the browser
// (responses) and the responder (queries, and responses for conflicts).
func (b *Browser) receive(p packet, resp *responder) {
	if !p.msg.Response {
		if resp != nil {
			resp.onQuery(p)
		}
		return
	}
	if p.src == nil || p.src.Port != 5353 {
		return // RFC 6762 §6: responses come from port 5353
	}
	b.dispatch(b.handle(p.msg, p.ifi.Name, time.Now()))
	if resp != nil {
		resp.onResponse(p)
	}
}

func skippedText(sk []SkippedInterface) string {
	parts := make([]string, len(sk))
	for i, s := range sk {
		parts[i] = s.Name + " (" + s.Reason + ")"
	}
	return strings.Join(parts, ", ")
}

// loop sends the browse and refresh queries and expires records.
func (b *Browser) loop(ctx context.Context, sock *socket) {
	interval := time.Second
	nextBrowse := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-b.wake:
			// Follow-up questions wait a moment so that records still
			// arriving in the same burst can answer them first.
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		now := time.Now()
		browse := !now.Before(nextBrowse)
		if browse {
			nextBrowse = now.Add(interval)
			interval = min(interval*2, b.opts.MaxQueryInterval)
		}
		msgs, events, next := b.tick(now, browse)
		b.dispatch(events)
		for _, m := range msgs {
			b.send(sock, m)
		}
		wait := min(time.Until(nextBrowse), time.Until(next), time.Minute)
		timer.Reset(max(wait, 50*time.Millisecond))
	}
}

func (b *Browser) send(sock *socket, m *dnsmsg.Msg) {
	for i := range sock.ifaces {
		if err := sock.multicast(m, &sock.ifaces[i]); err != nil {
			b.log.Debug("mdns: query not sent", "interface", sock.ifaces[i].Name, "err", err)
			continue
		}
		b.sent.Add(1)
	}
}

// dispatch tells watchers and the broker follower about changed instances.
// It runs without the lock so callbacks may call back into the browser.
func (b *Browser) dispatch(events []Instance) {
	if len(events) == 0 {
		return
	}
	b.mu.Lock()
	ws := slices.Clone(b.watchers)
	b.mu.Unlock()
	mqtt := false
	for _, ev := range events {
		svc := strings.ToLower(ev.Service)
		mqtt = mqtt || svc == "_mqtt._tcp"
		for _, w := range ws {
			if w.service == svc {
				w.fn(ev.clone())
			}
		}
	}
	if mqtt {
		b.followBroker()
	}
}

// followBroker picks the broker URL: the current broker's instance while it
// is present, else the first seen present _mqtt._tcp instance with an
// address.
func (b *Browser) followBroker() {
	b.mu.Lock()
	var pick *entry
	for _, e := range b.entries {
		if e.inst.Gone || !strings.EqualFold(e.inst.Service, "_mqtt._tcp") || e.inst.Address() == "" {
			continue
		}
		if e.inst.Key() == b.brokerKey {
			pick = e
			break
		}
		if pick == nil || e.inst.FirstSeen.Before(pick.inst.FirstSeen) {
			pick = e
		}
	}
	url := ""
	if pick != nil {
		url = "tcp://" + pick.inst.Address()
		b.brokerKey = pick.inst.Key()
	}
	changed := url != "" && url != b.broker
	if changed {
		b.broker = url
	}
	fns := slices.Clone(b.brokerFns)
	b.mu.Unlock()
	if changed {
		b.log.Info("mdns: MQTT broker found", "url", url)
		for _, fn := range fns {
			fn(url)
		}
	}
}
