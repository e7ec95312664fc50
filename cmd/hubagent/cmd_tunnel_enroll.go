package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/enroll"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/localapi"
)

// tunnelEnroll enrolls the hub with a relay and brings the running agent's
// tunnel up on the new settings, without a restart.
func tunnelEnroll(ctx context.Context, env *Env, c *common, url, token, caFile string, wait time.Duration) error {
	if _, err := enroll.CheckURL(url); err != nil {
		return usagef("%v", err)
	}
	cfg, err := loadConfig(env, c, configOverrides())
	if err != nil {
		return err
	}
	hubID, err := hubIDFor(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	st, err := enroll.Enroll(ctx, enroll.Options{URL: url, Token: token, CAFile: caFile, DataDir: cfg.DataDir,
		HubID: hubID, KeyFile: cfg.Tunnel.KeyFile})
	if err != nil {
		return fmt.Errorf("enrollment failed: %w", err)
	}
	fmt.Fprintf(env.Stdout, "enrolled hub %s with relay %s (%s@%s, %s)\npublic url: %s\n", hubID, st.RelayName, st.User, st.Relay,
		st.RemoteListen, st.PublicURL)
	if cfg.Tunnel.Relay != "" {
		fmt.Fprintf(env.Stderr, "note: tunnel.relay is set in the configuration file, which wins over this enrollment; remove the [tunnel] keys there to use it\n")
	}
	return reloadAgentTunnel(ctx, env, cfg.DataDir, wait)
}

// reloadAgentTunnel asks a running agent to rebuild its tunnel and waits
// (up to wait) until it is connected or off.
func reloadAgentTunnel(ctx context.Context, env *Env, dataDir string, wait time.Duration) error {
	cl, err := localapi.Dial(ctx, dataDir)
	if errors.Is(err, localapi.ErrNotRunning) {
		fmt.Fprintln(env.Stdout, "no agent is running on this data directory; the tunnel comes up when it starts")
		return nil
	}
	if err != nil {
		return err
	}
	st, err := cl.ReloadTunnel(ctx)
	if err != nil {
		return fmt.Errorf("the running agent did not take the new settings: %w", err)
	}
	for deadline := time.Now().Add(wait); st.State != tunnel.StateConnected && st.State != tunnel.StateOff && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if st, err = cl.Tunnel(ctx); err != nil {
			return err
		}
	}
	switch st.State {
	case tunnel.StateConnected:
		fmt.Fprintf(env.Stdout, "tunnel: connected (%s)\n", st.RemoteListen)
	case tunnel.StateOff:
		fmt.Fprintf(env.Stdout, "tunnel: off (%s)\n", st.Reason)
	default:
		fmt.Fprintf(env.Stdout, "tunnel: %s%s; the agent keeps trying ('hubagent tunnel status')\n", st.State, suffix(": ", st.LastError))
	}
	return nil
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// tunnelLeave deregisters the hub from its relay and turns the running
// agent's tunnel off.
func tunnelLeave(ctx context.Context, env *Env, c *common, caFile string, force bool) error {
	cfg, err := loadConfig(env, c, configOverrides())
	if err != nil {
		return err
	}
	if err := enroll.Leave(ctx, enroll.Options{CAFile: caFile, DataDir: cfg.DataDir, KeyFile: cfg.Tunnel.KeyFile}, force); err != nil {
		return fmt.Errorf("leave failed (--force forgets the enrollment anyway): %w", err)
	}
	fmt.Fprintln(env.Stdout, "left the relay; this hub is no longer enrolled")
	return reloadAgentTunnel(ctx, env, cfg.DataDir, 0)
}
