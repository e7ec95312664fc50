package metrics

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// scrape serves one scrape and parses it with the Prometheus project's own
// text parser, an independent reader of the format.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, rec.Body)
	}
	return fams
}

func newHub(t *testing.T) *hub.Hub {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestExpositionParsesWithPrometheusParser(t *testing.T) {
	m := New(newHub(t))
	m.Gauge("test_gauge", "A gauge with a \\ backslash\nand a line feed.", func() float64 { return 42.5 })
	m.Counter("test_total", "A counter.", func() float64 { return 7 })
	ok := m.Wrap(`GET /a "quoted" \route`, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	notFound := m.Wrap("GET /b", http.NotFoundHandler())
	for range 3 {
		ok.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/a", nil))
	}
	notFound.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/b", nil))

	fams := scrape(t, m)
	for _, tc := range []struct {
		name  string
		typ   dto.MetricType
		value float64
	}{
		{"test_gauge", dto.MetricType_GAUGE, 42.5},
		{"test_total", dto.MetricType_COUNTER, 7},
		{"hubagent_devices", dto.MetricType_GAUGE, 0},
		{"hubagent_store_commits_total", dto.MetricType_COUNTER, 0},
	} {
		f := fams[tc.name]
		if f == nil {
			t.Errorf("%s missing", tc.name)
			continue
		}
		if f.GetType() != tc.typ {
			t.Errorf("%s: type %v, want %v", tc.name, f.GetType(), tc.typ)
		}
		if got := sampleValue(f.Metric[0]); got != tc.value {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.value)
		}
	}
	if got := fams["test_gauge"].GetHelp(); got != "A gauge with a \\ backslash\nand a line feed." {
		t.Errorf("help read back as %q", got)
	}
	req := fams[requestsName]
	if req == nil || len(req.Metric) != 2 {
		t.Fatalf("%s: %v", requestsName, req)
	}
	got := map[string]float64{}
	for _, s := range req.Metric {
		l := map[string]string{}
		for _, p := range s.Label {
			l[p.GetName()] = p.GetValue()
		}
		got[l["route"]+" "+l["code"]] = s.GetCounter().GetValue()
	}
	if got[`GET /a "quoted" \route 200`] != 3 || got["GET /b 404"] != 1 {
		t.Errorf("request counts read back as %v", got)
	}
}

func TestProcessFiguresAgreeWithTheKernel(t *testing.T) {
	fams := scrape(t, New(newHub(t)))
	rss := fams["process_resident_memory_bytes"]
	if rss == nil {
		t.Fatal("process_resident_memory_bytes missing")
	}
	// VmRSS from /proc/self/status, read after the scrape: the two may
	// differ by what the scrape itself touched, not by orders of magnitude.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var vmRSS float64
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			vmRSS = kb * 1024
		}
	}
	if got := sampleValue(rss.Metric[0]); got < vmRSS/2 || got > vmRSS*2 {
		t.Errorf("process_resident_memory_bytes %v, VmRSS %v", got, vmRSS)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	if got := sampleValue(fams["process_cpu_seconds_total"].Metric[0]); got > cpu+0.05 || got < cpu-0.5 {
		t.Errorf("process_cpu_seconds_total %v, getrusage %v", got, cpu)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_open_fds"} {
		if f := fams[name]; f == nil || sampleValue(f.Metric[0]) <= 0 {
			t.Errorf("%s missing or not positive: %v", name, f)
		}
	}
	if f := fams["hubagent_memory_outside_go_bytes"]; f == nil || sampleValue(f.Metric[0]) < 0 {
		t.Errorf("hubagent_memory_outside_go_bytes: %v", f)
	}
}

func TestRegistrationMistakesPanic(t *testing.T) {
	for _, tc := range []struct{ name, metric string }{
		{"duplicate name", "dup_total"},
		{"invalid name", "bad-name"},
		{"name of the request counter", requestsName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Metrics{names: map[string]bool{}}
			m.Counter("dup_total", "", func() float64 { return 0 })
			defer func() {
				if recover() == nil {
					t.Errorf("registering %q did not panic", tc.metric)
				}
			}()
			m.Counter(tc.metric, "", func() float64 { return 0 })
		})
	}
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// statusKB reads one "Name:  N kB" line of /proc/self/status, in bytes.
func statusKB(t *testing.T, name string) float64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == name+":" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	t.Fatalf("/proc/self/status has no %s", name)
	return 0
}

func TestMemorySplitAgreesWithTheKernelAndTheRuntime(t *testing.T) {
	// 16 MiB of touched anonymous memory, so that file-backed and
	// anonymous figures cannot be mistaken for each other.
	ballast := make([]byte, 16<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	fams := scrape(t, New(newHub(t)))
	runtime.KeepAlive(ballast)
	value := func(name string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("%s missing", name)
		}
		return sampleValue(f.Metric[0])
	}
	file, goMem, outside := value("hubagent_memory_resident_file_bytes"), value("hubagent_memory_go_bytes"),
		value("hubagent_memory_outside_go_bytes")
	rssFile := statusKB(t, "RssFile") + statusKB(t, "RssShmem")
	rssAnon := statusKB(t, "RssAnon")
	// The kernel's own split, read after the scrape: the test binary's
	// text is resident (it runs), and nothing else maps many files.
	if file <= 0 || file < rssFile*0.75 || file > rssFile*1.25+1<<20 {
		t.Errorf("resident file bytes %v, kernel RssFile+RssShmem %v", file, rssFile)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if want := float64(ms.Sys - ms.HeapReleased); goMem < want*0.8 || goMem > want*1.25 {
		t.Errorf("go bytes %v, MemStats Sys-HeapReleased %v", goMem, want)
	}
	if outside < 0 || outside > rssAnon {
		t.Errorf("outside-Go bytes %v, want within [0, RssAnon %v]", outside, rssAnon)
	}
	if goMem < 16<<20 {
		t.Errorf("go bytes %v: less than the 16 MiB ballast", goMem)
	}
}
