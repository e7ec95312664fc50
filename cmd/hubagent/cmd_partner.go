package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/notify"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/store"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const partnerSynopsis = "add --name NAME --redirect-uri URI... [--public] [--callback-host HOST...] [--allow-private-callback] " +
	"[--notify-token-url URL --notify-client-id ID --notify-client-secret SECRET | --notify-hmac-secret SECRET] [--json]" +
	" | list [--json] | remove CLIENT_ID"

// cmdPartner manages partner clouds (OAuth clients). It writes the database
// directly, so it works whether or not the agent runs (the agent reads
// partners per request); remove goes through a running agent so that the
// unlinked partner is told (AccountUnlinked).
func cmdPartner(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(env.Stdout, "Usage: hubagent partner %s\n", partnerSynopsis)
			return nil
		}
		return usagef("want a subcommand: add, list or remove")
	}
	switch args[0] {
	case "add":
		return partnerAdd(ctx, env, args[1:])
	case "list":
		return partnerList(ctx, env, args[1:])
	case "remove":
		return partnerRemove(ctx, env, args[1:])
	}
	return usagef("unknown subcommand %q: want add, list or remove", args[0])
}

// openAccounts opens the database read-write (creating the data directory
// and applying migrations when needed) for the account commands.
func openAccounts(ctx context.Context, env *Env, c *common) (*store.Store, *oauth.Store, error) {
	return openAccountsIn(ctx, env, c, prepareDataDir)
}

// openAccountsIn is openAccounts with the data directory checked by
// prepare (requireDataDir for commands that must not create it).
func openAccountsIn(ctx context.Context, env *Env, c *common, prepare func(string) error) (*store.Store, *oauth.Store, error) {
	cfg, err := loadConfig(env, c, configOverrides())
	if err != nil {
		return nil, nil, err
	}
	if err := prepare(cfg.DataDir); err != nil {
		return nil, nil, err
	}
	if err := checkDatabase(cfg); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, store.FileName), store.Options{})
	if err != nil {
		return nil, nil, err
	}
	return st, oauth.NewStore(st.DB()), nil
}

func partnerAdd(ctx context.Context, env *Env, args []string) error {
	var c common
	var n oauth.NewPartner
	var redirects, hosts multiFlag
	const synopsis = "add --name NAME --redirect-uri URI [--redirect-uri URI...] [--public] [--callback-host HOST...] " +
		"[--allow-private-callback] [--notify-token-url URL --notify-client-id ID --notify-client-secret SECRET | --notify-hmac-secret SECRET] [--json]"
	fs := newFlags(env, "partner add", synopsis, &c, true)
	fs.StringVar(&n.Name, "name", "", "the partner's display `NAME` (shown on the consent page)")
	fs.Var(&redirects, "redirect-uri", "registered redirect `URI` (exact match; repeatable)")
	fs.BoolVar(&n.Public, "public", false, "public client: no secret, PKCE required")
	fs.Var(&hosts, "callback-host", "`HOST` the partner's notification callbacks may use (repeatable)")
	fs.BoolVar(&n.AllowPrivateCallback, "allow-private-callback", false, "allow callbacks to private (LAN) addresses")
	fs.StringVar(&n.NotifyTokenURL, "notify-token-url", "", "partner's token `URL` for the notifier's client-credentials grant")
	fs.StringVar(&n.NotifyClientID, "notify-client-id", "", "client `ID` at the partner's token URL")
	fs.StringVar(&n.NotifyClientSecret, "notify-client-secret", "", "client `SECRET` at the partner's token URL")
	fs.StringVar(&n.NotifyHMACSecret, "notify-hmac-secret", "", "shared `SECRET` for X-CIC-Signature instead of a token URL")
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	n.RedirectURIs, n.CallbackHosts = redirects, hosts
	if n.Name == "" {
		return usagef("--name is required")
	}
	if len(n.RedirectURIs) == 0 {
		return usagef("at least one --redirect-uri is required")
	}
	if err := n.Validate(); err != nil {
		return usagef("%v", err)
	}
	st, accounts, err := openAccounts(ctx, env, &c)
	if err != nil {
		return err
	}
	defer st.Close()
	id, secret, err := accounts.AddPartner(ctx, n)
	if err != nil {
		return err
	}
	if c.json {
		out := map[string]any{"clientId": id}
		if secret != "" {
			out["clientSecret"] = secret
		}
		return writeJSONOut(env.Stdout, out)
	}
	fmt.Fprintf(env.Stdout, "clientId:     %s\n", id)
	if secret != "" {
		fmt.Fprintf(env.Stdout, "clientSecret: %s\n", secret)
		fmt.Fprintln(env.Stderr, "The client secret is shown only now: the hub keeps only its hash.")
	}
	return nil
}

func partnerList(ctx context.Context, env *Env, args []string) error {
	var c common
	fs := newFlags(env, "partner list", "list [--json]", &c, true)
	pos, err := parse(env, fs, "list [--json]", args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	st, accounts, err := openAccountsIn(ctx, env, &c, requireDataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	ps, err := accounts.Partners(ctx)
	if err != nil {
		return err
	}
	health, err := notify.PartnerHealth(ctx, st.DB())
	if err != nil {
		return err
	}
	if c.json {
		type row struct {
			*oauth.Partner               // carries no secrets
			Delivery       notify.Health `json:"delivery"`
		}
		rows := make([]row, len(ps))
		for i, p := range ps {
			rows[i] = row{Partner: p, Delivery: health[p.ClientID]}
		}
		return writeJSONOut(env.Stdout, rows)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCLIENT ID\tPUBLIC\tREDIRECT URIS\tCALLBACK HOSTS\tLINKED USERS\tBACKLOG\tOLDEST\tLAST DELIVERY\tCREATED")
	for _, p := range ps {
		h := health[p.ClientID]
		oldest, last := "-", "-"
		if h.Backlog > 0 {
			oldest = now.Sub(h.OldestPending).Round(time.Second).String()
		}
		if h.LastResult != "" {
			last = h.LastResult
		}
		if h.NeedsRelink {
			last = "NEEDS RE-LINK: " + last
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", p.Name, p.ClientID, p.Public, strings.Join(p.RedirectURIs, " "),
			dashIfEmpty(strings.Join(p.CallbackHosts, " ")), p.LinkedUsers, h.Backlog, oldest, last, p.Created.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func partnerRemove(ctx context.Context, env *Env, args []string) error {
	var c common
	fs := newFlags(env, "partner remove", "remove CLIENT_ID", &c, false)
	pos, err := parse(env, fs, "remove CLIENT_ID", args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one CLIENT_ID")
	}
	id := pos[0]
	cfg, err := loadConfig(env, &c, configOverrides())
	if err != nil {
		return err
	}
	// Through a running agent, so its revocation hooks tell the partner.
	cl, err := localapi.Dial(ctx, cfg.DataDir)
	if err == nil {
		if err := cl.RemovePartner(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "removed partner %s; its links are revoked\n", id)
		return nil
	}
	if !errors.Is(err, localapi.ErrNotRunning) {
		return err
	}
	st, _, err := openAccounts(ctx, env, &c)
	if err != nil {
		return err
	}
	defer st.Close()
	// No agent runs to hear the revocation: the same side effects go to
	// the outbox, delivered when the agent starts.
	gs, err := cloudlink.RemovePartnerOffline(ctx, st.DB(), id)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "removed partner %s; %d links revoked\n", id, len(gs))
	return nil
}
