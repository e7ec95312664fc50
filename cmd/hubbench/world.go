package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// world is everything a run starts: broker, agent, appliances, partners
// and their notification endpoint, all on loopback under one temp dir.
type world struct {
	o          options
	log        io.Writer // progress and setup lines
	tmp        string
	bin        string
	broker     *proc // nil with the embedded broker
	brokerName string
	brokerURL  string
	agent      *agentProc
	notify     *notifyServer
	fleet      *fleet
	partners   []*partner
	hc         *http.Client // partners' client towards the agent
	disk       diskFigures  // measured by ingest, reported by footprint
}

// newWorld starts everything and waits until the agent knows every
// device and every partner is linked and subscribed. On error the
// returned world (when not nil) still has to be closed.
func newWorld(ctx context.Context, o options, log io.Writer) (*world, error) {
	tmp, err := os.MkdirTemp("", "hubbench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	w := &world{o: o, log: log, tmp: tmp, hc: partnerClient(16)}
	step := func(format string, args ...any) { fmt.Fprintf(log, "hubbench: "+format+"\n", args...) }

	if w.bin, err = findHubagent(ctx, o.hubagent, tmp); err != nil {
		return w, err
	}
	if w.notify, err = startNotifyServer(filepath.Join(tmp, "partner-ca.pem")); err != nil {
		return w, err
	}
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return w, fmt.Errorf("data dir: %w", err)
	}
	agentBroker, mqttListen := "", ""
	if mosq, err := exec.LookPath("mosquitto"); err == nil && !o.noMosq {
		mdir := filepath.Join(tmp, "mosquitto")
		if err := os.Mkdir(mdir, 0o700); err != nil {
			return w, fmt.Errorf("broker dir: %w", err)
		}
		var addr string
		if w.broker, addr, err = startMosquitto(ctx, mosq, mdir); err != nil {
			return w, err
		}
		w.brokerName, w.brokerURL, agentBroker = "mosquitto", "tcp://"+addr, "tcp://"+addr
	} else {
		if mqttListen, err = freeAddr(); err != nil {
			return w, err
		}
		w.brokerName, w.brokerURL = "embedded", "tcp://"+mqttListen
	}
	step("broker: %s on %s; agent: %s", w.brokerName, strings.TrimPrefix(w.brokerURL, "tcp://"), w.bin)

	if w.agent, err = newAgentProc(w.bin, data, agentBroker, mqttListen, w.notify.caFile); err != nil {
		return w, err
	}
	w.agent.env = o.agentEnv
	if _, err := w.agent.cli(ctx, benchPassword+"\n", "user", "add", benchUser, "--password-stdin"); err != nil {
		return w, err
	}
	if _, err := w.agent.start(ctx); err != nil {
		return w, err
	}
	// Partners link before the appliances appear and approve "devices
	// added later", so the consent form stays small whatever --devices is.
	for k := range o.partners {
		p, err := linkPartner(ctx, w.agent, k, randomSecret())
		if err != nil {
			return w, fmt.Errorf("link partner %d: %w", k, err)
		}
		if err := p.subscribe(ctx, w.hc, w.agent.api, w.notify.url); err != nil {
			return w, err
		}
		w.partners = append(w.partners, p)
	}
	step("%d partners linked and subscribed; announcing %d devices", len(w.partners), o.devices)
	if w.fleet, err = newFleet(ctx, w.brokerURL, o.devices); err != nil {
		return w, err
	}
	t0 := time.Now()
	if err := w.fleet.announce(ctx); err != nil {
		return w, err
	}
	if err := w.agent.waitMetric(ctx, "hubagent_devices", "every device discovered", 3*time.Minute,
		func(v float64) bool { return v >= float64(o.devices) }); err != nil {
		return w, err
	}
	if err := w.agent.waitMetric(ctx, "hubagent_state_reports_total", "every device's first state", 20*time.Second,
		func(v float64) bool { return v >= float64(o.devices) }); err != nil {
		// Not fatal: the figures do not need every first state, but a
		// shortfall is worth knowing about.
		if !errors.Is(err, errStalled) {
			return w, err
		}
		step("warning: %v; publishing every state again", err)
		before, err := w.agent.metric(ctx, "hubagent_state_reports_total")
		if err != nil {
			return w, err
		}
		for i := range o.devices {
			w.fleet.pub.Publish(stateTopic(i), 1, true, statePayload(w.fleet.next(i)))
		}
		if err := w.agent.waitMetric(ctx, "hubagent_state_reports_total", "every device's state, published again", 20*time.Second,
			func(v float64) bool { return v >= before+float64(o.devices) }); err != nil {
			return w, err
		}
	}
	step("agent knows %d devices after %v", o.devices, time.Since(t0).Round(time.Millisecond))
	return w, w.checkShared(ctx)
}

// checkShared makes sure the last device is visible to every partner, so
// a broken consent shows up as a setup error, not as odd figures.
func (w *world) checkShared(ctx context.Context) error {
	for _, p := range w.partners {
		payload := []byte(`{"deviceIds":["` + deviceID(w.o.devices-1) + `"]}`)
		status, body, err := call(ctx, w.hc, w.agent.api, p.token, cicBody("CIC.Query", "QueryStatus", "check-shared", payload))
		if err != nil {
			return err
		}
		if status != http.StatusOK || strings.Contains(string(body), "errorCode") {
			return fmt.Errorf("%s cannot query the devices: HTTP %d: %s", p.name, status, body)
		}
	}
	return nil
}

// close stops everything in reverse order and removes the temp dir.
func (w *world) close() {
	if w.fleet != nil {
		w.fleet.close()
	}
	if w.agent != nil {
		w.agent.stop()
	}
	if w.broker != nil {
		w.broker.stop(5 * time.Second)
	}
	if w.notify != nil {
		w.notify.close()
	}
	w.hc.CloseIdleConnections()
	if w.o.keep {
		fmt.Fprintf(w.log, "hubbench: kept %s\n", w.tmp)
		return
	}
	os.RemoveAll(w.tmp)
}

func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// peakRSS samples the RSS of the agent (and the broker) every 100 ms until
// stopped, and returns the peaks in bytes.
type peakRSS struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	agent int64
	anon  int64 // the agent's anonymous RSS (RssAnon): its RSS less file-backed pages
	brk   int64
}

func (w *world) sampleRSS() *peakRSS {
	s := &peakRSS{stop: make(chan struct{}), done: make(chan struct{})}
	agentPID, brokerPID := w.agent.p.pid(), 0
	if w.broker != nil {
		brokerPID = w.broker.pid()
	}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			a, b := rss(agentPID), int64(0)
			an := anonRSS(agentPID)
			if brokerPID != 0 {
				b = rss(brokerPID)
			}
			s.mu.Lock()
			s.agent, s.anon, s.brk = max(s.agent, a), max(s.anon, an), max(s.brk, b)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// peaks stops the sampler and returns the agent's and broker's peak RSS.
func (s *peakRSS) peaks() (agent, broker int64) {
	close(s.stop)
	<-s.done
	return s.agent, s.brk
}

// anonPeak is the agent's peak anonymous RSS; after peaks.
func (s *peakRSS) anonPeak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.anon
}

// cpuShare measures how the 2 cores were shared during a scenario: the
// agent's CPU, hubbench's own (the load generator and partner endpoint),
// and the broker's. It tells whether a figure is limited by the agent or
// by the machine.
type cpuShare struct {
	w                 *world
	t0                time.Time
	agent, self, brkr time.Duration
}

func (w *world) startCPU() cpuShare {
	c := cpuShare{w: w, t0: time.Now(), agent: cpuTime(w.agent.p.pid()), self: selfCPU()}
	if w.broker != nil {
		c.brkr = cpuTime(w.broker.pid())
	}
	return c
}

// note appends the CPU shares to the first row's note.
func (c cpuShare) note(rows []row) []row {
	wall := time.Since(c.t0).Seconds()
	cores := func(d time.Duration) float64 { return d.Seconds() / wall }
	s := fmt.Sprintf("CPU cores used over the scenario, baseline slices included: agent %.2f, hubbench %.2f", cores(cpuTime(c.w.agent.p.pid())-c.agent), cores(selfCPU()-c.self))
	if c.w.broker != nil {
		s += fmt.Sprintf(", mosquitto %.2f", cores(cpuTime(c.w.broker.pid())-c.brkr))
	}
	if len(rows) > 0 {
		if rows[0].Note != "" {
			rows[0].Note += "; "
		}
		rows[0].Note += s
	}
	return rows
}

// idleSettle is how long after setup the idle figures are taken.
const idleSettle = 8 * time.Second

// memorySamples is what runScenarios reads of the agent's memory (and the
// broker's) for the footprint rows.
type memorySamples struct {
	idle, idleAnon, brokerIdle int64  // VmRSS and RssAnon at idle
	idleMem                    string // the agent's own split at idle (/metrics)
	ws                         *workingSet
	peak, anonPeak             map[string]int64 // per scenario
	householdEnd               int64            // VmRSS after the household scenario
	householdEndMem            string
}

// runScenarios runs every scenario in order and collects the rows.
// RSS is sampled under each load for the footprint rows.
func (w *world) runScenarios(ctx context.Context) (*report, error) {
	rep := newReport(w.o, w.brokerName)
	// Idle means settled: the agent gives the start-up burst's memory back
	// once its device count has been still for 5 s.
	// The working set is what the agent touches over that time.
	refsCleared := clearRefs(w.agent.p.pid()) == nil
	if err := sleepCtx(ctx, idleSettle); err != nil {
		return nil, err
	}
	pid := w.agent.p.pid()
	m := memorySamples{idle: rss(pid), idleAnon: anonRSS(pid), peak: map[string]int64{}, anonPeak: map[string]int64{}}
	if refsCleared {
		if r, err := referenced(pid); err == nil {
			m.ws = &r
		}
	}
	var err error
	if m.idleMem, err = w.agent.memory(ctx); err != nil {
		return nil, err
	}
	if w.broker != nil {
		m.brokerIdle = rss(w.broker.pid())
	}
	type scenario struct {
		name string
		run  func(context.Context) ([]row, error)
	}
	scenarios := []scenario{
		{"ingest", w.ingest},
		{"query", w.query},
		{"control", w.control},
		{"notify", func(ctx context.Context) ([]row, error) { return w.notifyScenario(ctx, "notify", "200ms (default)") }},
		{"household", w.household},
	}
	for _, sc := range scenarios {
		// Each scenario starts on a quiet agent: notifications an earlier
		// one caused are delivered first.
		if _, err := w.settleNotifications(ctx); err != nil {
			return nil, err
		}
		s := w.sampleRSS()
		cpu := w.startCPU()
		rows, err := sc.run(ctx)
		peak, _ := s.peaks()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		m.peak[sc.name], m.anonPeak[sc.name] = peak, s.anonPeak()
		if sc.name == "household" {
			m.householdEnd = rss(pid)
			m.householdEndMem, _ = w.agent.memory(ctx)
		}
		rep.Rows = append(rep.Rows, cpu.note(rows)...)
	}
	rows, err := w.footprint(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("footprint: %w", err)
	}
	rep.Rows = append(rep.Rows, rows...)
	// The footprint scenario restarted the agent with coalescing off:
	// the same notify run again shows what the window costs in latency.
	cpu := w.startCPU()
	rows, err = w.notifyScenario(ctx, "notify0", "0s")
	if err != nil {
		return nil, fmt.Errorf("notify with coalesce_window 0s: %w", err)
	}
	rep.Rows = append(rep.Rows, cpu.note(rows)...)
	return rep, nil
}
