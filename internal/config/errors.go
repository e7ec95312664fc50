package config

import "strings"

// Error is one configuration problem. Load returns one *Error, or several
// joined with errors.Join, each printed on its own line.
type Error struct {
	// Source says where the offending value came from: "file:line", the name
	// of an environment variable, or "flag --name". It is empty when the
	// value is a default or the Config was built in code.
	Source string
	// Key is the dotted key, such as "mqtt.broker"; empty when the problem
	// is not tied to one key (a TOML syntax error, an unreadable file).
	Key string
	// Msg describes the problem.
	Msg string

	// related is a second key whose source Load reports when Key was never
	// set, e.g. tunnel.relay for a missing tunnel.host_key.
	related string
}

// Error formats the problem as "config: source: key: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
