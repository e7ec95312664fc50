package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

// mdnsInstance is one mDNS service instance as the agent reports it.
type mdnsInstance struct {
	Instance  string            `json:"instance"`
	Service   string            `json:"service"`
	Host      string            `json:"host"`
	Addresses []string          `json:"addresses"`
	Port      int               `json:"port"`
	TXT       map[string]string `json:"txt"`
	FirstSeen int64             `json:"firstSeen"` // ms since the epoch
	LastSeen  int64             `json:"lastSeen"`
	Gone      bool              `json:"gone"`
	Status    string            `json:"status"`
}

// discoveredOut is what `discovered --json` prints. mdns stays raw so
// fields this command does not know pass through; mdnsInterfaces is where
// the mDNS stack browses and answers (null when mDNS is off).
type discoveredOut struct {
	MQTT           []localbus.DiscoveredConfig `json:"mqtt"`
	MDNS           []json.RawMessage           `json:"mdns"`
	MDNSInterfaces *mdns.StackStatus           `json:"mdnsInterfaces"`
}

func cmdDiscovered(ctx context.Context, env *Env, args []string) error {
	var c common
	var errorsOnly bool
	const synopsis = "[--errors] [--json]"
	fs := newFlags(env, "discovered", synopsis, &c, true)
	fs.BoolVar(&errorsOnly, "errors", false, "only the discovery configs that were refused, with the reason, or accepted with warnings")
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, &c, configOverrides())
	if err != nil {
		return err
	}
	cl, err := localapi.Dial(ctx, cfg.DataDir)
	if errors.Is(err, localapi.ErrNotRunning) {
		return fmt.Errorf("no agent is running with data directory %s: discovery results live in the running agent (start 'hubagent run')", cfg.DataDir)
	}
	if err != nil {
		return err
	}
	out := discoveredOut{MDNS: []json.RawMessage{}}
	if out.MQTT, err = cl.DiscoveredMQTT(ctx); err != nil {
		return codedError(err)
	}
	if errorsOnly {
		kept := out.MQTT[:0]
		for _, d := range out.MQTT {
			if d.Status != localbus.StatusAccepted || len(d.Warnings) > 0 {
				kept = append(kept, d)
			}
		}
		out.MQTT = kept
	}
	mdnsServed := true
	if out.MDNS, err = cl.DiscoveredMDNS(ctx); err != nil {
		var se *localapi.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusNotFound {
			return codedError(err)
		}
		mdnsServed = false // this agent browses no mDNS
		out.MDNS = []json.RawMessage{}
	}
	if mdnsServed {
		st, err := cl.MDNSInterfaces(ctx)
		if err != nil {
			return codedError(err)
		}
		out.MDNSInterfaces = &st
	}
	if c.json {
		return writeJSONOut(env.Stdout, out)
	}
	now := time.Now()
	printMQTTDiscovered(env.Stdout, out.MQTT, now)
	if mdnsServed && !errorsOnly {
		fmt.Fprintln(env.Stdout)
		printMDNSInterfaces(env.Stdout, out.MDNSInterfaces)
		return printMDNSDiscovered(env.Stdout, out.MDNS, now)
	}
	return nil
}

func printMQTTDiscovered(w io.Writer, ds []localbus.DiscoveredConfig, now time.Time) error {
	refused := 0
	for _, d := range ds {
		if d.Status != localbus.StatusAccepted {
			refused++
		}
	}
	fmt.Fprintf(w, "MQTT discovery: %d configs, %d refused\n", len(ds), refused)
	if len(ds) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tCOMPONENT\tDEVICE\tSTATUS\tLAST SEEN")
	for _, d := range ds {
		status := d.Status
		if d.Reason != "" {
			status += ": " + oneLine(d.Reason)
		}
		if len(d.Warnings) > 0 {
			status += " with warnings: " + oneLine(strings.Join(d.Warnings, "; "))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Topic, d.Component, orDash(d.DeviceID), status, ago(now, d.LastSeen))
	}
	return tw.Flush()
}

func printMDNSDiscovered(w io.Writer, raw []json.RawMessage, now time.Time) error {
	fmt.Fprintf(w, "mDNS: %d instances\n", len(raw))
	if len(raw) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSERVICE\tHOST\tADDRESS\tLAST SEEN\tSTATE")
	for _, r := range raw {
		var in mdnsInstance
		if err := json.Unmarshal(r, &in); err != nil {
			return fmt.Errorf("mDNS listing: %w", err)
		}
		addr := strings.Join(in.Addresses, ",")
		if in.Port > 0 {
			addr += " :" + strconv.Itoa(in.Port)
		}
		state := "present"
		if in.Gone {
			state = "gone"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Instance, in.Service, orDash(in.Host), orDash(addr), ago(now, time.UnixMilli(in.LastSeen)), state+statusNote(in.Status))
	}
	return tw.Flush()
}

// printMDNSInterfaces says where mDNS browses and answers, and what the
// default choice left out.
func printMDNSInterfaces(w io.Writer, st *mdns.StackStatus) {
	if st == nil {
		return
	}
	var on []string
	for _, ifi := range st.Interfaces {
		s := ifi.Name
		if len(ifi.Addresses) > 0 {
			s += " (" + strings.Join(ifi.Addresses, ", ") + ")"
		}
		on = append(on, s)
	}
	how := "default choice"
	if st.Configured {
		how = "mdns.interfaces"
	}
	fmt.Fprintf(w, "mDNS interfaces (%s): %s\n", how, strings.Join(on, "; "))
	for _, sk := range st.Skipped {
		fmt.Fprintf(w, "  not used: %s: %s\n", sk.Name, sk.Reason)
	}
	if st.Advertised != "" {
		var adv []string
		for _, ifi := range st.Interfaces {
			if ifi.Advertising {
				adv = append(adv, ifi.Name)
			}
		}
		fmt.Fprintf(w, "Advertised as %q on %s\n", st.Advertised, strings.Join(adv, ", "))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago prints a past time as a rounded age ("4s ago").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		d = d.Round(time.Second)
	case d < time.Hour:
		d = d.Round(time.Minute)
	default:
		d = d.Round(time.Hour)
	}
	return d.String() + " ago"
}

// statusNote adds a driver's status (auth required, error …) when it is
// not plain ok.
func statusNote(s string) string {
	if s == "" || s == "ok" {
		return ""
	}
	return " (" + s + ")"
}
