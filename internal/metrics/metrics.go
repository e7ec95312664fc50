// Package metrics exposes the agent's counters in the Prometheus text
// format. The core packages keep plain atomic counters; this package reads
// them at scrape time, so no hot path touches Prometheus types.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hubagent/hubagent/internal/hub"
)

// Metrics is the agent's registry.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

// New registers the hub's counters, HTTP request counts, and the Go runtime
// and process collectors.
func New(h *hub.Hub) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hubagent_http_requests_total", Help: "HTTP requests served, by route and status code.",
	}, []string{"route", "code"})
	reg.MustRegister(m.requests)
	gauge := func(name, help string, fn func(hub.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return fn(h.Stats()) }))
	}
	counter := func(name, help string, fn func(hub.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return fn(h.Stats()) }))
	}
	gauge("hubagent_devices", "Devices in the registry.", func(s hub.Stats) float64 { return float64(s.Devices) })
	counter("hubagent_state_reports_total", "State reports received from devices.", func(s hub.Stats) float64 { return float64(s.Reports) })
	counter("hubagent_state_updates_total", "Property values that changed.", func(s hub.Stats) float64 { return float64(s.Changes) })
	counter("hubagent_commands_total", "Commands sent to devices.", func(s hub.Stats) float64 { return float64(s.Commands) })
	counter("hubagent_command_timeouts_total", "Commands not confirmed in time.", func(s hub.Stats) float64 { return float64(s.Timeouts) })
	counter("hubagent_store_commits_total", "State transactions committed.", func(s hub.Stats) float64 { return float64(s.Writer.Commits) })
	counter("hubagent_store_rows_written_total", "State rows written after coalescing.", func(s hub.Stats) float64 { return float64(s.Writer.Written) })
	counter("hubagent_store_coalesced_total", "State writes merged into a later one.", func(s hub.Stats) float64 { return float64(s.Writer.Coalesced) })
	counter("hubagent_store_write_failures_total", "Failed state commits (retried).", func(s hub.Stats) float64 { return float64(s.Writer.Failures) })
	return m
}

// Gauge registers a gauge read from fn at scrape time (for example the MQTT
// connection state or the outbox backlog, owned by other packages).
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Counter registers a counter read from fn at scrape time.
func (m *Metrics) Counter(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Wrap counts requests to one route by status code.
func (m *Metrics) Wrap(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
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
