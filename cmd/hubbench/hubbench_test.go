package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScenariosAtTinyScale runs every scenario against a real agent with
// 20 devices and 1 partner for 1 s each (the household day 3 s, so that it
// sees several of its one-per-second updates, with a 1 s flush interval so
// that it spans flushes) and checks the output's
// shape: every scenario is there with numeric figures and baselines. It
// asserts behaviour, not speed: the figures depend on the machine, but none
// of them (rates, latencies, sizes, times) can be zero in a run that
// worked: a zero is a scenario that measured nothing.
func TestScenariosAtTinyScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an agent, a broker and partners")
	}
	bin := filepath.Join(t.TempDir(), "hubagent")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hubagent/hubagent/cmd/hubagent").CombinedOutput(); err != nil {
		t.Fatalf("build hubagent: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"--devices", "20", "--partners", "1", "--duration", "1s", "--household", "3s", "--hubagent", bin, "--json",
		"--agent-env", "HUBAGENT_STORE_FLUSH_INTERVAL=1s"}, &out, &errOut); err != nil {
		t.Fatalf("hubbench: %v\n%s", err, errOut.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	withBaseline := map[string]int{}
	for _, r := range rep.Rows {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value <= 0 || r.Unit == "" {
			t.Errorf("%s / %s: value %v %q is not a figure", r.Scenario, r.Figure, r.Value, r.Unit)
		}
		if r.BaselineValue != nil {
			if r.Baseline == "" || math.IsNaN(*r.BaselineValue) || math.IsInf(*r.BaselineValue, 0) || *r.BaselineValue <= 0 {
				t.Errorf("%s / %s: baseline %q = %v", r.Scenario, r.Figure, r.Baseline, *r.BaselineValue)
			}
			if r.Ratio != nil {
				if math.IsNaN(*r.Ratio) || math.IsInf(*r.Ratio, 0) || *r.Ratio <= 0 {
					t.Errorf("%s / %s: ratio %v", r.Scenario, r.Figure, *r.Ratio)
				}
				withBaseline[r.Scenario]++
			}
		}
	}
	for _, sc := range []string{"ingest", "query", "control", "notify", "household", "footprint"} {
		if withBaseline[sc] == 0 {
			t.Errorf("scenario %s has no figure with a baseline and ratio\n%s", sc, out.String())
		}
	}
	// Every figure a partner or the architecture cares about is named.
	want := []string{"state updates/s", "QueryStatus", "Control round trip p50", "Control round trip p99",
		"publish → partner p50", "events delivered/s", "RSS, idle", "working set, idle", "anonymous RSS, idle", "anonymous RSS, highest peak", "RSS, peak under query", "cold start", "disk bytes", "bytes written to flash per day", "commits/s"}
	var table bytes.Buffer
	if err := rep.writeTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, f := range want {
		if !strings.Contains(table.String(), f) {
			t.Errorf("table lacks %q:\n%s", f, table.String())
		}
	}
}

func TestOptionsAreBounded(t *testing.T) {
	for _, args := range [][]string{
		{"--devices", "0"}, {"--devices", "100000"}, {"--partners", "0"}, {"--duration", "1h"}, {"--household", "0s"}, {"extra"},
	} {
		if _, err := parseOptions(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	o, err := parseOptions(nil, &bytes.Buffer{})
	if err != nil || o.devices != 1000 || o.partners != 3 || o.duration != 20*time.Second {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader("# HELP x y\n# TYPE x counter\nhubagent_state_reports_total 1.5e+06\n" +
		`hubagent_http_requests_total{route="/healthz",code="200"} 3` + "\nhubagent_devices 20\n"))
	if err != nil || m["hubagent_state_reports_total"] != 1.5e6 || m["hubagent_devices"] != 20 || len(m) != 2 {
		t.Errorf("parseMetrics = %v, %v", m, err)
	}
}
