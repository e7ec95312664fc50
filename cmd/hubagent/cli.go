package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hubagent/hubagent/internal/config"
)

// Exit codes: scripts and installers depend on them.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"run", "[--config FILE] [--data DIR] [--api-listen ADDR] [--mqtt-broker URL] [--mqtt-listen ADDR]", "run the agent", cmdRun},
		{"version", "[--json]", "print version, commit, build date and platform", cmdVersion},
		{"devices", "[--json]", "list devices", cmdDevices},
		{"device", "get ID [--json] | set ID PROP=VALUE...", "show or control one device", cmdDevice},
		{"discovered", "[--errors] [--json]", "list what discovery found: MQTT configs (accepted or refused), mDNS services", cmdDiscovered},
		{"tunnel", "enroll URL --token T [--ca-file F] | leave [--force] | status [--json] | pubkey", "remote access: enroll with a relay, leave it, tunnel state, the key line for a manual relay", cmdTunnel},
		{"relay", relaySynopsis, "run a relay: enrollment service, tokens, sshd key lookup, hubs" + notInGateway, cmdRelay},
		{"audit", "[--since DURATION|TIME] [--json]", "show the commands partners sent", cmdAudit},
		{"partner", "add --name NAME --redirect-uri URI... [--public] [--json] | list [--json] | remove CLIENT_ID", "partner clouds allowed to link (OAuth clients)", cmdPartner},
		{"user", "add NAME | passwd NAME [--password-stdin]", "household accounts for the sign-in page", cmdUser},
		{"conformance", conformanceSynopsis, "test an endpoint of the cloud-to-cloud interface, check by check" + notInGateway, cmdConformance},
	}
}

// usageError makes the command exit 2 with a hint to --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// Main runs one hubagent invocation and returns its exit code.
func Main(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.Stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ue *usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(env.Stderr, "hubagent %s: %s (see hubagent %s --help)\n", c.name, oneLine(ue.msg), c.name)
			return exitUsage
		default:
			fmt.Fprintf(env.Stderr, "hubagent %s: %s\n", c.name, oneLine(err.Error()))
			return exitFailure
		}
	}
	fmt.Fprintf(env.Stderr, "hubagent: unknown command %q (see hubagent --help)\n", args[0])
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: hubagent COMMAND [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE and --data DIR; run 'hubagent COMMAND --help' for its flags.")
}

// oneLine folds a multi-line error into one line for stderr.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// common holds the flags every command takes.
type common struct {
	config, data string
	json         bool
}

// newFlags makes a command's flag set with the common flags.
func newFlags(env *Env, name, synopsis string, c *common, withJSON bool) *flag.FlagSet {
	fs := flag.NewFlagSet("hubagent "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.config, "config", "", "configuration `FILE` (TOML); default $HUBAGENT_CONFIG, else none")
	fs.StringVar(&c.data, "data", "", "data `DIR` (database, keys, socket); default ./hubagent-data")
	if withJSON {
		fs.BoolVar(&c.json, "json", false, "print JSON")
	}
	// The flag package calls Usage on every parse error; parse prints it
	// only for --help, so a usage error stays one line on stderr.
	fs.Usage = func() {}
	return fs
}

func printFlagUsage(env *Env, fs *flag.FlagSet, synopsis string) {
	name := strings.TrimPrefix(fs.Name(), "hubagent ")
	fmt.Fprintf(env.Stdout, "Usage: hubagent %s %s\n\nFlags:\n", name, synopsis)
	fs.SetOutput(env.Stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses flags anywhere among the arguments (so `device set ID
// power=true --data DIR` works) and returns the positional ones.
func parse(env *Env, fs *flag.FlagSet, synopsis string, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printFlagUsage(env, fs, synopsis)
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadConfig loads the configuration the way `run` does, so every command
// finds the same data directory.
func loadConfig(env *Env, c *common, o config.Overrides) (*config.Config, error) {
	if c.data != "" {
		o.DataDir = c.data
	}
	cfg, err := config.Load(c.config, env.Environ, o)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// configOverrides is empty for commands other than run: they take only
// --config and --data.
func configOverrides() config.Overrides { return config.Overrides{} }
