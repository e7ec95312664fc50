//go:build !gateway

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hubagent/hubagent/internal/relay"
)

// relayToken makes one-time enrollment tokens for installers.
func relayToken(ctx context.Context, env *Env, args []string) error {
	var rf relayFlags
	const synopsis = "create [--count N] [--expires 30d] [--json] [--registry DSN] [--name NAME]"
	fs := newRelayFlags(env, "token", synopsis, &rf, true)
	count := fs.Int("count", 1, "how many tokens to make (1.."+fmt.Sprint(relay.MaxTokensPerCall)+")")
	expires := fs.String("expires", "30d", "lifetime: whole days (30d) or a duration (12h); at most 365d")
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "create" {
		return usagef("want 'token create'")
	}
	if *count < 1 || *count > relay.MaxTokensPerCall {
		return usagef("--count must be 1..%d", relay.MaxTokensPerCall)
	}
	ttl, err := relay.ParseLifetime(*expires)
	if err != nil {
		return usagef("--expires: %v", err)
	}
	reg, err := rf.open(ctx, env)
	if err != nil {
		return err
	}
	defer reg.Close()
	toks, until, err := reg.CreateTokens(ctx, *count, ttl)
	subject := fmt.Sprintf("%d tokens until %s", *count, until.UTC().Format(time.RFC3339))
	if aerr := relayAuditOf(ctx, reg, &rf, "token.create", subject, err); aerr != nil {
		return aerr
	}
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSONOut(env.Stdout, struct {
			Tokens  []string  `json:"tokens"`
			Expires time.Time `json:"expires"`
		}{toks, until.UTC()})
	}
	for _, t := range toks {
		fmt.Fprintln(env.Stdout, t)
	}
	fmt.Fprintf(env.Stderr, "%d single-use token(s), valid until %s; they are not shown again.\n", len(toks), until.Local().Format(time.RFC3339))
	return nil
}
