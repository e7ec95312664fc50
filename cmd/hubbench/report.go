package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one measured figure beside its baseline from the same run.
type row struct {
	Scenario      string   `json:"scenario"`
	Figure        string   `json:"figure"`
	Value         float64  `json:"value"`
	Unit          string   `json:"unit"`
	Baseline      string   `json:"baseline,omitempty"`
	BaselineValue *float64 `json:"baselineValue,omitempty"`
	// Ratio is value / baseline value.
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	Met    *bool    `json:"met,omitempty"`
	Note   string   `json:"note,omitempty"`
}

// withBaseline sets the baseline and the ratio.
func (r row) withBaseline(name string, v float64) row {
	r.Baseline, r.BaselineValue = name, &v
	if v != 0 && !math.IsNaN(v) {
		q := r.Value / v
		r.Ratio = &q
	}
	return r
}

// withTarget sets the target text and whether it is met.
func (r row) withTarget(text string, met bool) row {
	r.Target, r.Met = text, &met
	return r
}

// report is a whole run.
type report struct {
	Devices  int       `json:"devices"`
	Partners int       `json:"partners"`
	Duration string    `json:"duration"`
	Broker   string    `json:"broker"`
	CPUs     int       `json:"cpus"`
	GoArch   string    `json:"goarch"`
	Started  time.Time `json:"started"`
	Rows     []row     `json:"rows"`
}

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// fmtValue prints a figure with as many digits as its unit deserves.
func fmtValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case unit == "ms":
		return fmt.Sprintf("%.2f ms", v)
	case unit == "MB":
		return fmt.Sprintf("%.1f MB", v)
	case unit == "x":
		return fmt.Sprintf("%.2f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	default:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
}

func (rep *report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "hubbench: %d devices, %d partners, %s per scenario, broker %s, %d CPUs (%s)\n\n",
		rep.Devices, rep.Partners, rep.Duration, rep.Broker, rep.CPUs, rep.GoArch)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tvalue\tbaseline\tbaseline value\tratio\ttarget\tmet")
	for _, r := range rep.Rows {
		base, ratio, met := "—", "—", ""
		if r.BaselineValue != nil {
			base = fmtValue(*r.BaselineValue, r.Unit)
		}
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.2f", *r.Ratio)
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Scenario, r.Figure, fmtValue(r.Value, r.Unit),
			orDash(r.Baseline), base, ratio, orDash(r.Target), met)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	var notes []string
	for _, r := range rep.Rows {
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s / %s: %s", r.Scenario, r.Figure, r.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n%s\n", strings.Join(notes, "\n"))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func newReport(o options, broker string) *report {
	return &report{Devices: o.devices, Partners: o.partners, Duration: o.duration.String(), Broker: broker,
		CPUs: runtime.NumCPU(), GoArch: runtime.GOOS + "/" + runtime.GOARCH, Started: time.Now().UTC()}
}

// percentile returns the p-th percentile (0–100) of ds in milliseconds,
// NaN for no samples. ds is sorted in place.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	slices.Sort(ds)
	i := int(math.Ceil(p/100*float64(len(ds)))) - 1
	i = max(0, min(i, len(ds)-1))
	return float64(ds[i]) / float64(time.Millisecond)
}

// progress prints a status line to w every half second until the
// returned stop is called; status says what the scenario has done so far.
func progress(ctx context.Context, w io.Writer, label string, total time.Duration, status func() string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				fmt.Fprintf(w, "\r%-100s\r", "")
				return
			case <-tick.C:
				fmt.Fprintf(w, "\r%-100.100s", fmt.Sprintf("[%s] %4.1fs/%v  %s", label, time.Since(t0).Seconds(), total, status()))
			}
		}
	}()
	return func() { cancel(); <-done }
}
