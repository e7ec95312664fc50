package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/store"
)

func cmdTunnel(ctx context.Context, env *Env, args []string) error {
	var c common
	const synopsis = "pubkey | status [--json] | enroll URL [--token T] [--ca-file F] | leave [--force]"
	fs := newFlags(env, "tunnel", synopsis, &c, true)
	token := fs.String("token", "", "enroll: the one-time `TOKEN` from the relay's operator (not needed to rotate the key of an enrolled hub)")
	caFile := fs.String("ca-file", "", "enroll, leave: PEM `FILE` of the CA that signed the relay's certificate (default: the system's roots)")
	wait := fs.Duration("wait", 30*time.Second, "enroll: how long to wait for the running agent's tunnel to connect")
	force := fs.Bool("force", false, "leave: forget the enrollment even when the relay cannot be told")
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want 'pubkey', 'status', 'enroll URL' or 'leave'")
	}
	switch pos[0] {
	case "pubkey":
		if c.json || len(pos) != 1 {
			return usagef("pubkey takes no argument and prints one authorized_keys line; --json is for status")
		}
		return tunnelPubkey(ctx, env, &c)
	case "status":
		if len(pos) != 1 {
			return usagef("status takes no argument")
		}
		return tunnelStatus(ctx, env, &c)
	case "enroll":
		if len(pos) != 2 {
			return usagef("want 'enroll URL --token T', URL being the relay's enrollment address (https://...)")
		}
		if *wait < 0 {
			return usagef("--wait must not be negative")
		}
		return tunnelEnroll(ctx, env, &c, pos[1], *token, *caFile, *wait)
	case "leave":
		if len(pos) != 1 {
			return usagef("leave takes no argument")
		}
		return tunnelLeave(ctx, env, &c, *caFile, *force)
	}
	return usagef("unknown tunnel command %q; want 'pubkey', 'status', 'enroll' or 'leave'", pos[0])
}

// tunnelPubkey prints the authorized_keys line the relay operator adds for
// this hub, making the hub's key when there is none yet. It needs no
// running agent.
func tunnelPubkey(ctx context.Context, env *Env, c *common) error {
	cfg, err := loadConfig(env, c, configOverrides())
	if err != nil {
		return err
	}
	if cfg.Tunnel.RemoteListen == "" {
		return errors.New("tunnel.remote_listen is not set: set it in [tunnel] to the relay address assigned to this hub (such as 127.0.0.1:20001), so the key may listen there and nowhere else")
	}
	hubID, err := hubIDFor(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	signer, err := tunnel.LoadOrCreateKey(cfg.Tunnel.KeyFile, "hubagent-"+hubID)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, tunnel.AuthorizedKeysLine(signer.PublicKey(), cfg.Tunnel.RemoteListen, hubID))
	return nil
}

// hubIDFor asks the running agent for the hub's id, or reads (on a fresh
// data directory: makes) it in the database.
func hubIDFor(ctx context.Context, dataDir string) (string, error) {
	cl, err := localapi.Dial(ctx, dataDir)
	if err == nil {
		st, err := cl.Status(ctx)
		if err != nil {
			return "", err
		}
		return st.HubID, nil
	}
	if !errors.Is(err, localapi.ErrNotRunning) {
		return "", err
	}
	if err := prepareDataDir(dataDir); err != nil {
		return "", err
	}
	st, err := store.Open(ctx, filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		return "", err
	}
	defer st.Close()
	return st.HubID(ctx)
}

// tunnelStatus prints the running agent's tunnel state.
func tunnelStatus(ctx context.Context, env *Env, c *common) error {
	cfg, err := loadConfig(env, c, configOverrides())
	if err != nil {
		return err
	}
	cl, err := localapi.Dial(ctx, cfg.DataDir)
	if errors.Is(err, localapi.ErrNotRunning) {
		return fmt.Errorf("no agent is running on data directory %s, so there is no tunnel (start it with 'hubagent run')", cfg.DataDir)
	}
	if err != nil {
		return err
	}
	st, err := cl.Tunnel(ctx)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSONOut(env.Stdout, st)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	ago := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		d := time.Since(*t)
		if d < 0 {
			return fmt.Sprintf("%s (in %s)", t.Local().Format(time.RFC3339), (-d).Round(time.Second))
		}
		return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.RFC3339), d.Round(time.Second))
	}
	row("state", st.State)
	row("why off", st.Reason)
	if st.Relay != "" {
		row("relay", st.User+"@"+st.Relay)
	}
	row("relay key", st.RelayKey)
	row("remote", st.RemoteListen)
	row("public url", st.PublicURL)
	row("settings from", st.Source)
	row("connected since", ago(st.Since))
	if st.State != tunnel.StateOff || st.Attempts > 0 {
		row("reconnects", fmt.Sprint(st.Reconnects))
		row("attempts", fmt.Sprint(st.Attempts))
	}
	row("last error", st.LastError)
	row("last error at", ago(st.LastErrorAt))
	row("next attempt", ago(st.NextAttempt))
	return tw.Flush()
}
