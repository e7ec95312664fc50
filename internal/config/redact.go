package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	d.MDNS.Interfaces = slices.Clone(c.MDNS.Interfaces)
	d.MDNS.Services = slices.Clone(c.MDNS.Services)
	return &d
}

// Redacted returns a copy of c that is safe to print or log: mqtt.password
// and drivers.shelly_password are replaced by "***" when set.
func (c *Config) Redacted() *Config {
	d := c.Clone()
	for _, f := range schema() {
		if p, ok := f.ptr(d).(*string); ok && f.secret && *p != "" {
			*p = redacted
		}
	}
	return d
}

// String renders the redacted configuration as TOML, every key with its
// effective value, in the order of the example file. Secrets are never
// included, so the result may be logged or shown by diagnostics.
func (c *Config) String() string {
	r := c.Redacted()
	var b strings.Builder
	if c.File != "" {
		// Quoted: a comment must not be ended early by a newline in the name.
		fmt.Fprintf(&b, "# read from %s\n", strconv.Quote(c.File))
	}
	section := ""
	for _, f := range schema() {
		if s := f.section(); s != section {
			section = s
			fmt.Fprintf(&b, "\n[%s]\n", s)
		}
		fmt.Fprintf(&b, "%s = %s\n", f.name(), tomlValue(f.ptr(r)))
	}
	return b.String()
}

// tomlValue formats the field ptr points to as a TOML value.
func tomlValue(ptr any) string {
	switch p := ptr.(type) {
	case *string:
		return tomlString(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *float64:
		switch {
		case math.IsNaN(*p):
			return "nan"
		case math.IsInf(*p, 1):
			return "inf"
		case math.IsInf(*p, -1):
			return "-inf"
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	case *time.Duration:
		return tomlString(p.String())
	case *[]string:
		parts := make([]string, len(*p))
		for i, s := range *p {
			parts[i] = tomlString(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		return `""`
	}
}

// tomlString quotes s as a TOML basic string. TOML's escapes are a subset of
// Go's, so control characters are written as \uXXXX.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
