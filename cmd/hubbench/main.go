// Command hubbench measures a real hubagent process against its baselines:
// it starts a broker (mosquitto when installed, else the agent's embedded
// one), the agent with a temporary data directory, simulated Zigbee2MQTT
// appliances over MQTT and simulated partner clouds over HTTPS, runs the
// ingest, query, control, notify and footprint scenarios, and prints every
// figure beside its baseline from the same run.
//
//	go run ./cmd/hubbench --devices 1000 --partners 3 --duration 20s
//
// Everything it starts listens on loopback and is stopped when it ends,
// also on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubbench:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks command-line mistakes (exit 2).
var errUsage = errors.New("usage")

// options are hubbench's flags.
type options struct {
	devices   int
	partners  int
	duration  time.Duration
	household time.Duration
	hubagent  string
	json      bool
	noMosq    bool
	keep      bool
	agentEnv  envList
}

// Bounds keep a run finite and loopback-friendly whatever the flags say.
const (
	maxDevices  = 5000
	maxPartners = 20
	maxDuration = 10 * time.Minute
)

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("hubbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.devices, "devices", 1000, "simulated appliances (`N`)")
	fs.IntVar(&o.partners, "partners", 3, "simulated partner clouds (`M`), each linked and subscribed")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "measuring time of each scenario")
	fs.DurationVar(&o.household, "household", time.Minute, "length of the household-day scenario (200 devices, one update each per 20 s)")
	fs.StringVar(&o.hubagent, "hubagent", "", "hubagent binary (`PATH`); default: next to hubbench, else built with go build")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (agent data, configs) for inspection; its path goes to stderr")
	fs.BoolVar(&o.noMosq, "embedded-broker", false, "use the agent's embedded broker even when mosquitto is installed")
	fs.Var(&o.agentEnv, "agent-env", "`HUBAGENT_X=value` setting (or GOGC, GOMEMLIMIT) for the agent (repeatable), e.g. HUBAGENT_STORE_COALESCE_WINDOW=1s")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case o.devices < 10 || o.devices > maxDevices:
		return o, fmt.Errorf("%w: --devices must be between 10 and %d", errUsage, maxDevices)
	case o.partners < 1 || o.partners > maxPartners:
		return o, fmt.Errorf("%w: --partners must be between 1 and %d", errUsage, maxPartners)
	case o.duration < time.Second || o.duration > maxDuration:
		return o, fmt.Errorf("%w: --duration must be between 1s and %v", errUsage, maxDuration)
	case o.household < time.Second || o.household > maxDuration:
		return o, fmt.Errorf("%w: --household must be between 1s and %v", errUsage, maxDuration)
	}
	for _, kv := range o.agentEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || !(strings.HasPrefix(k, "HUBAGENT_") || k == "GOGC" || k == "GOMEMLIMIT") {
			return o, fmt.Errorf("%w: --agent-env wants HUBAGENT_NAME=value, GOGC=value or GOMEMLIMIT=value, got %q", errUsage, kv)
		}
	}
	return o, nil
}

// envList is a repeatable flag.
type envList []string

func (l *envList) String() string     { return strings.Join(*l, " ") }
func (l *envList) Set(s string) error { *l = append(*l, s); return nil }

// run is hubbench without the process around it, so the test can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	w, err := newWorld(ctx, o, stderr)
	if w != nil {
		defer w.close()
	}
	if err != nil {
		return err
	}
	rep, err := w.runScenarios(ctx)
	if err != nil {
		return err
	}
	if o.json {
		return rep.writeJSON(stdout)
	}
	return rep.writeTable(stdout)
}
