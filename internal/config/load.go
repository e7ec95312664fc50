package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// envPrefix starts the name of every environment variable the package reads.
	envPrefix = "HUBAGENT_"
	// EnvConfig names the configuration file when Load is given no path.
	EnvConfig = envPrefix + "CONFIG"
)

// Overrides are the values given as command-line flags; an empty field was
// not given. Errors name them as the flags --data, --api-listen,
// --mqtt-broker, --mqtt-listen, --log-level and --log-format, so the
// command line should use those names.
type Overrides struct {
	DataDir    string
	APIListen  string
	MQTTBroker string
	MQTTListen string
	LogLevel   string
	LogFormat  string
}

// flags pairs each override with its flag name and key.
func (o Overrides) flags() []struct{ flag, key, value string } {
	return []struct{ flag, key, value string }{
		{"--data", "data_dir", o.DataDir},
		{"--api-listen", "api.listen", o.APIListen},
		{"--mqtt-broker", "mqtt.broker", o.MQTTBroker},
		{"--mqtt-listen", "mqtt.listen", o.MQTTListen},
		{"--log-level", "log.level", o.LogLevel},
		{"--log-format", "log.format", o.LogFormat},
	}
}

// Load builds the configuration from defaults, the TOML file at path, the
// HUBAGENT_* variables in environ (formatted like os.Environ) and the flag
// overrides o, in increasing order of precedence, and validates it.
//
// When path is "" the file named by HUBAGENT_CONFIG is read; when neither
// names a file, none is read. Environment variables are HUBAGENT_ followed by
// the upper-cased key with dots as underscores (HUBAGENT_MQTT_BROKER); lists
// are comma-separated, booleans true, false, 1 or 0, and an empty value sets
// a string or list to empty. An unknown HUBAGENT_ variable is an error, like
// an unknown key in the file, so that a typo is not silently ignored.
//
// The error is an *Error, or several joined with errors.Join.
func Load(path string, environ []string, o Overrides) (*Config, error) {
	env := hubagentEnv(environ)
	if path == "" {
		path = env[EnvConfig]
	}
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, &Error{Msg: fmt.Sprintf("cannot read %s: %v", path, err)}
		}
	}
	return build(path, data, env, o)
}

// build is Load after the file, if any, has been read: path names the file
// data came from, "" for none.
func build(path string, data []byte, env map[string]string, o Overrides) (*Config, error) {
	c := Default()
	c.Tunnel.KeyFile = "" // derived again below, once data_dir is final
	origins := make(map[string]string)

	var errs []*Error
	if path != "" {
		c.File = path
		errs = applyFile(c, path, data, origins)
	}
	errs = append(errs, applyEnv(c, env, origins)...)
	for _, f := range o.flags() {
		if f.value == "" {
			continue
		}
		source := "flag " + f.flag
		if msg := setString(fieldByKey(f.key).ptr(c), f.value); msg != "" {
			errs = append(errs, &Error{Source: source, Key: f.key, Msg: msg})
			continue
		}
		origins[f.key] = source
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}

	c.deriveDefaults()
	problems := c.check()
	for _, p := range problems {
		p.Source = origins[p.Key]
		if p.Source == "" {
			p.Source = origins[p.related]
		}
	}
	if len(problems) > 0 {
		return nil, joinErrors(problems)
	}
	return c, nil
}

// hubagentEnv returns the HUBAGENT_ variables of environ; a later entry
// wins, as with os.Getenv.
func hubagentEnv(environ []string) map[string]string {
	env := make(map[string]string)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, envPrefix) {
			env[name] = value
		}
	}
	return env
}

// applyEnv sets the fields named by HUBAGENT_ variables.
func applyEnv(c *Config, env map[string]string, origins map[string]string) []*Error {
	byEnv := make(map[string]field)
	for _, f := range schema() {
		byEnv[f.envName()] = f
	}
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []*Error
	for _, name := range names {
		if name == EnvConfig {
			continue
		}
		f, ok := byEnv[name]
		if !ok {
			msg := "unknown environment variable"
			if s := suggest(name, byEnv); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			errs = append(errs, &Error{Source: name, Msg: msg})
			continue
		}
		if msg := setString(f.ptr(c), env[name]); msg != "" {
			errs = append(errs, &Error{Source: name, Key: f.key, Msg: msg})
			continue
		}
		origins[f.key] = name
	}
	return errs
}

// setString parses s, a value from the environment or a flag, into the
// field ptr points to. It returns a message describing the problem, or "" on
// success.
func setString(ptr any, s string) string {
	switch p := ptr.(type) {
	case *string:
		*p = s
	case *bool:
		switch s {
		case "true", "1":
			*p = true
		case "false", "0":
			*p = false
		default:
			return fmt.Sprintf("want true, false, 1 or 0, got %q", s)
		}
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Sprintf("want an integer, got %q", s)
		}
		*p = n
	case *float64:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Sprintf("want a number, got %q", s)
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("invalid duration %q: want a number with a unit, such as \"5s\", \"200ms\" or \"1h30m\"", s)
		}
		*p = d
	case *[]string:
		list := []string{}
		for e := range strings.SplitSeq(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				list = append(list, e)
			}
		}
		*p = list
	default:
		return "want " + typeName(ptr)
	}
	return ""
}

// fieldByKey returns the schema entry for key, which must exist.
func fieldByKey(key string) field {
	for _, f := range schema() {
		if f.key == key {
			return f
		}
	}
	panic("config: no field " + key) // a programming error in this package
}

// joinErrors returns the only error, or all of them joined.
func joinErrors(errs []*Error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}

// suggest returns the name in known closest to name, if it is close enough
// to be a likely typo, or "".
func suggest[V any](name string, known map[string]V) string {
	// A name much longer than every key is no typo; skipping it also keeps
	// the quadratic distance cheap on hostile input.
	if len(name) > 64 {
		return ""
	}
	// Two edits turn any short name into another, so allow only one there.
	limit := 2
	if len(name) < 6 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
