//go:build !gateway

package main

import (
	"context"
	"flag"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/hubagent/hubagent/internal/relay"
)

// The relay side of remote access lives in the same binary, so a relay
// operator installs one package: `hubagent relay serve` behind nginx,
// `relay keys` as sshd's AuthorizedKeysCommand, and the operator commands.

const relaySynopsis = "serve | token create | keys USER KEY | hubs | remove ID | audit"

// notInGateway marks, in the usage, the commands the gateway build leaves
// out (cmd_gateway.go); this is the full build.
const notInGateway = ""

func cmdRelay(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		var c common
		fs := newFlags(env, "relay", relaySynopsis, &c, false)
		if _, err := parse(env, fs, relaySynopsis, args); err != nil {
			return err
		}
		return usagef("want one of: %s", relaySynopsis)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "serve":
		return relayServe(ctx, env, rest)
	case "token":
		return relayToken(ctx, env, rest)
	case "keys":
		return relayKeys(ctx, env, rest)
	case "hubs":
		return relayHubs(ctx, env, rest)
	case "remove":
		return relayRemove(ctx, env, rest)
	case "audit":
		return relayAudit(ctx, env, rest)
	}
	return usagef("unknown relay command %q; want one of: %s", sub, relaySynopsis)
}

// relayFlags are the flags of every relay command: where the registry is
// and which relay of the fleet this is.
type relayFlags struct {
	common
	registry, name string
}

func newRelayFlags(env *Env, sub, synopsis string, rf *relayFlags, withJSON bool) *flag.FlagSet {
	fs := newFlags(env, "relay "+sub, synopsis, &rf.common, withJSON)
	fs.StringVar(&rf.registry, "registry", "", "registry `DSN`: postgres://... for a fleet, else a SQLite file; default $HUBAGENT_RELAY_REGISTRY, else <data>/relay.db")
	fs.StringVar(&rf.name, "name", "", "this relay's `NAME` in the fleet; default $HUBAGENT_RELAY_NAME, else the host name")
	return fs
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// open resolves the defaults and opens the registry.
func (rf *relayFlags) open(ctx context.Context, env *Env) (*relay.Registry, error) {
	if rf.name == "" {
		rf.name = lookupEnv(env, "HUBAGENT_RELAY_NAME")
	}
	if rf.name == "" {
		h, _ := os.Hostname()
		rf.name = strings.Trim(nonName.ReplaceAllString(strings.ToLower(strings.Split(h, ".")[0]), "-"), "-")
	}
	if !relay.ValidName(rf.name) {
		return nil, usagef("--name %q: want lowercase letters, digits and dashes", rf.name)
	}
	dsn := rf.registry
	if dsn == "" {
		dsn = lookupEnv(env, "HUBAGENT_RELAY_REGISTRY")
	}
	if dsn == "" {
		cfg, err := loadConfig(env, &rf.common, configOverrides())
		if err != nil {
			return nil, err
		}
		dsn = filepath.Join(cfg.DataDir, relay.SQLiteFile)
	}
	return relay.Open(ctx, dsn)
}

func lookupEnv(env *Env, key string) string {
	for _, kv := range env.Environ {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// operator names who ran a relay command, for the audit log.
func operator() string {
	name := "uid-" + strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if s := os.Getenv("SUDO_USER"); s != "" {
		name += " (sudo by " + s + ")"
	}
	return name
}

// relayAuditOf records one relay command; a failure to audit fails the command,
// so nothing happens unrecorded.
func relayAuditOf(ctx context.Context, reg *relay.Registry, rf *relayFlags, action, subject string, err error) error {
	res := "ok"
	if err != nil {
		res = err.Error()
	}
	return reg.Audit(ctx, relay.AuditEntry{Relay: rf.name, Actor: operator(), Action: action, Subject: subject, Result: res})
}
