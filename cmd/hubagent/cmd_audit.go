package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/store"
)

func cmdAudit(ctx context.Context, env *Env, args []string) error {
	var c common
	const synopsis = "[--since DURATION|TIME] [--limit N] [--json]"
	fs := newFlags(env, "audit", synopsis, &c, true)
	window := addEntryWindow(fs)
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	from, limit, err := window.values(pos)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(env, &c, configOverrides())
	if err != nil {
		return err
	}
	if err := requireDataDir(cfg.DataDir); err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, store.FileName), store.Options{ReadOnly: true})
	var entries []cic.AuditEntry
	switch {
	case errors.Is(err, store.ErrNotExist):
		entries = []cic.AuditEntry{}
	case err != nil:
		return err
	default:
		defer st.Close()
		if entries, err = cic.ReadAudit(ctx, st.DB(), from, limit); err != nil {
			return err
		}
	}
	if c.json {
		return writeJSONOut(env.Stdout, entries)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPARTNER\tUSER\tDEVICE\tPROPERTIES\tRESULT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", time.UnixMilli(e.At).Format(time.RFC3339), e.ClientID, e.UserID,
			e.DeviceID, e.Properties, e.Result)
	}
	return tw.Flush()
}

// parseSince reads "24h" (that long ago) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("duration %s is negative", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (24h) nor an RFC 3339 time", s)
	}
	return t, nil
}
