// Package metrics exposes the agent's counters in the Prometheus text
// exposition format (version 0.0.4). The core packages keep plain atomic
// counters; this package reads them at scrape time, so no hot path touches
// a metrics type.
//
// It writes the format itself rather than using the Prometheus client
// library: the agent has a few dozen scalar metrics, and the client (with
// the protobuf runtime it brings) cost more of the binary than everything
// it did for us here (docs/performance.md, binary size table).
package metrics

import (
	"bufio"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hubagent/hubagent/internal/hub"
)

// Metrics is the agent's registry.
type Metrics struct {
	mu       sync.Mutex
	families []family
	names    map[string]bool
	requests requestCounts
}

// family is one metric read at scrape time.
type family struct {
	name, help, kind string
	read             func() float64
}

// New registers the hub's counters, HTTP request counts, and the Go runtime
// and process metrics.
func New(h *hub.Hub) *Metrics {
	m := &Metrics{names: map[string]bool{}}
	stats := func(fn func(hub.Stats) float64) func() float64 {
		return func() float64 { return fn(h.Stats()) }
	}
	m.Gauge("hubagent_devices", "Devices in the registry.", stats(func(s hub.Stats) float64 { return float64(s.Devices) }))
	m.Counter("hubagent_state_reports_total", "State reports received from devices.", stats(func(s hub.Stats) float64 { return float64(s.Reports) }))
	m.Counter("hubagent_state_updates_total", "Property values that changed.", stats(func(s hub.Stats) float64 { return float64(s.Changes) }))
	m.Counter("hubagent_commands_total", "Commands sent to devices.", stats(func(s hub.Stats) float64 { return float64(s.Commands) }))
	m.Counter("hubagent_command_timeouts_total", "Commands not confirmed in time.", stats(func(s hub.Stats) float64 { return float64(s.Timeouts) }))
	m.Counter("hubagent_store_commits_total", "State transactions committed.", stats(func(s hub.Stats) float64 { return float64(s.Writer.Commits) }))
	m.Counter("hubagent_store_wal_frames_total", "WAL frames (4 KiB pages) found by the checkpoint after each state flush.",
		stats(func(s hub.Stats) float64 { return float64(s.Writer.WALFrames) }))
	m.Counter("hubagent_store_checkpointed_pages_total", "Pages the checkpoint after each state flush copied into the database.",
		stats(func(s hub.Stats) float64 { return float64(s.Writer.CheckpointedPages) }))
	m.Counter("hubagent_store_rows_written_total", "State rows written after coalescing.", stats(func(s hub.Stats) float64 { return float64(s.Writer.Written) }))
	m.Counter("hubagent_store_coalesced_total", "State writes merged into a later one.", stats(func(s hub.Stats) float64 { return float64(s.Writer.Coalesced) }))
	m.Counter("hubagent_store_write_failures_total", "Failed state commits (retried).", stats(func(s hub.Stats) float64 { return float64(s.Writer.Failures) }))
	registerRuntime(m)
	return m
}

// Gauge registers a gauge read from fn at scrape time (for example the MQTT
// connection state or the outbox backlog, owned by other packages). A name
// registered twice is a wiring bug and panics, as a duplicate registration
// with the Prometheus client would.
func (m *Metrics) Gauge(name, help string, fn func() float64) { m.add(name, help, "gauge", fn) }

// Counter registers a counter read from fn at scrape time.
func (m *Metrics) Counter(name, help string, fn func() float64) { m.add(name, help, "counter", fn) }

func (m *Metrics) add(name, help, kind string, fn func() float64) {
	if !validName(name) {
		panic("metrics: invalid metric name " + strconv.Quote(name))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names[name] || name == requestsName {
		panic("metrics: " + name + " registered twice")
	}
	m.names[name] = true
	m.families = append(m.families, family{name: name, help: help, kind: kind, read: fn})
}

// Handler serves the metrics in the Prometheus text format, sorted by name.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		m.mu.Lock()
		fams := slices.Clone(m.families)
		m.mu.Unlock()
		sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		for _, f := range fams {
			writeFamily(bw, f.name, f.help, f.kind)
			bw.WriteString(f.name)
			bw.WriteByte(' ')
			bw.WriteString(formatValue(f.read()))
			bw.WriteByte('\n')
		}
		m.requests.write(bw)
		bw.Flush() //nolint:errcheck // the scraper went away
	})
}

// Wrap counts requests to one route by status code.
func (m *Metrics) Wrap(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.requests.inc(route, sw.code)
	})
}

const requestsName = "hubagent_http_requests_total"

// requestCounts is the one labelled metric: requests by route and status.
// Routes are the server's fixed patterns and codes a few dozen values, so
// the map stays small whatever clients send.
type requestCounts struct {
	mu sync.Mutex
	n  map[routeCode]*atomic.Uint64
}

type routeCode struct {
	route string
	code  int
}

func (c *requestCounts) inc(route string, code int) {
	k := routeCode{route, code}
	c.mu.Lock()
	v := c.n[k]
	if v == nil {
		if c.n == nil {
			c.n = map[routeCode]*atomic.Uint64{}
		}
		v = new(atomic.Uint64)
		c.n[k] = v
	}
	c.mu.Unlock()
	v.Add(1)
}

func (c *requestCounts) write(bw *bufio.Writer) {
	c.mu.Lock()
	keys := make([]routeCode, 0, len(c.n))
	for k := range c.n {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.route != b.route {
			return a.route < b.route
		}
		return a.code < b.code
	})
	writeFamily(bw, requestsName, "HTTP requests served, by route and status code.", "counter")
	for _, k := range keys {
		c.mu.Lock()
		v := c.n[k].Load()
		c.mu.Unlock()
		bw.WriteString(requestsName + `{code="` + strconv.Itoa(k.code) + `",route="` + escapeLabel(k.route) + `"} `)
		bw.WriteString(strconv.FormatUint(v, 10))
		bw.WriteByte('\n')
	}
}

type statusWriter struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.code, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
