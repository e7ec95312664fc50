//go:build !gateway

package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/hubagent/hubagent/internal/enrollwire"
	"github.com/hubagent/hubagent/internal/relay"
)

// relayHubs lists the enrolled hubs with their state.
func relayHubs(ctx context.Context, env *Env, args []string) error {
	var rf relayFlags
	const synopsis = "[--json] [--registry DSN] [--name NAME]"
	fs := newRelayFlags(env, "hubs", synopsis, &rf, true)
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	reg, err := rf.open(ctx, env)
	if err != nil {
		return err
	}
	defer reg.Close()
	hubs, err := reg.Hubs(ctx, "")
	if aerr := relayAuditOf(ctx, reg, &rf, "hubs", fmt.Sprintf("%d hubs", len(hubs)), err); aerr != nil {
		return aerr
	}
	if err != nil {
		return err
	}
	// Whether a hub is connected shows on its own relay: sshd listens on
	// its port there.
	ls, lerr := relay.Listeners()
	for i := range hubs {
		h := &hubs[i]
		switch {
		case h.Relay != rf.name:
			h.State = "on relay " + h.Relay
		case lerr != nil:
			h.State = "unknown"
		case ls[h.Port] != 0:
			h.State = "connected"
		default:
			h.State = "offline"
		}
	}
	if rf.json {
		return writeJSONOut(env.Stdout, hubs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HUB\tRELAY\tPORT\tPUBLIC NAME\tSTATE\tENROLLED")
	for _, h := range hubs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", h.ID, h.Relay, h.Port, h.PublicName, h.State, h.EnrolledAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// relayRemove revokes a hub: sshd refuses its key from now on, and its
// session on this relay is ended at once (on another relay, by that
// relay's serve within a second or two).
func relayRemove(ctx context.Context, env *Env, args []string) error {
	var rf relayFlags
	const synopsis = "ID [--registry DSN] [--name NAME]"
	fs := newRelayFlags(env, "remove", synopsis, &rf, false)
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want the hub's ID")
	}
	if !enrollwire.ValidHubID(pos[0]) {
		return usagef("%q is not a hub id (16 hex digits)", pos[0])
	}
	reg, err := rf.open(ctx, env)
	if err != nil {
		return err
	}
	defer reg.Close()
	h, err := reg.Remove(ctx, pos[0])
	if aerr := relayAuditOf(ctx, reg, &rf, "remove", pos[0], err); aerr != nil {
		return aerr
	}
	if errors.Is(err, relay.ErrNoSuchHub) {
		return fmt.Errorf("no hub %s is enrolled", pos[0])
	}
	if err != nil {
		return err
	}
	if h.Relay == rf.name {
		if _, err := relay.StopSession(h.Port); err != nil {
			fmt.Fprintf(env.Stderr, "hubagent relay remove: the hub's session was not stopped here (%v); relay serve stops it\n", err)
		}
	}
	fmt.Fprintf(env.Stdout, "removed hub %s (%s, port %d on relay %s)\n", h.ID, h.PublicName, h.Port, h.Relay)
	return nil
}

// relayAudit shows what was done on the relays.
func relayAudit(ctx context.Context, env *Env, args []string) error {
	var rf relayFlags
	const synopsis = "[--since DURATION|TIME] [--limit N] [--json] [--registry DSN]"
	fs := newRelayFlags(env, "audit", synopsis, &rf, true)
	window := addEntryWindow(fs)
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	from, limit, err := window.values(pos)
	if err != nil {
		return err
	}
	reg, err := rf.open(ctx, env)
	if err != nil {
		return err
	}
	defer reg.Close()
	entries, err := reg.AuditLog(ctx, from, limit)
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSONOut(env.Stdout, entries)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tRELAY\tACTOR\tACTION\tSUBJECT\tRESULT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Relay, e.Actor, e.Action, e.Subject, e.Result)
	}
	return tw.Flush()
}
