package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// applyFile decodes the TOML document data, read from path, into c and
// records in origins where each key was set. It returns every unknown key,
// misplaced table and wrongly typed value, ordered by line; a syntax error
// is returned alone because nothing after it can be trusted.
func applyFile(c *Config, path string, data []byte, origins map[string]string) []*Error {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			msg := strings.TrimPrefix(de.Error(), "toml: ")
			return []*Error{{
				Source: fmt.Sprintf("%s:%d", path, line),
				Msg:    fmt.Sprintf("invalid TOML at column %d: %s", col, msg),
			}}
		}
		return []*Error{{Source: path, Msg: "invalid TOML: " + err.Error()}}
	}
	d := fileDecoder{
		c:       c,
		path:    path,
		lines:   keyLines(data),
		origins: origins,
		fields:  make(map[string]field),
		tables:  make(map[string]bool),
	}
	for _, f := range schema() {
		d.fields[f.key] = f
		if s := f.section(); s != "" {
			d.tables[s] = true
		}
	}
	d.table(doc, nil)
	// Keys are visited in map order; report them in file order.
	slices.SortStableFunc(d.errs, func(a, b lineError) int { return a.line - b.line })
	errs := make([]*Error, len(d.errs))
	for i, le := range d.errs {
		errs[i] = le.err
	}
	return errs
}

// lineError is a problem and the line it was found on.
type lineError struct {
	line int
	err  *Error
}

// fileDecoder walks a decoded TOML document against the schema.
type fileDecoder struct {
	c       *Config
	path    string
	lines   map[string]int // "\x00"-joined key path → line of its first mention
	origins map[string]string
	fields  map[string]field
	tables  map[string]bool
	errs    []lineError
}

// table applies every key of the table found at prefix.
func (d *fileDecoder) table(m map[string]any, prefix []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		path := append(slices.Clip(prefix), k)
		v := m[k]
		// A quoted key with a dot in it must not pass for a dotted key.
		if strings.Contains(k, ".") {
			d.fail(path, displayKey(path), "unknown key")
			continue
		}
		key := strings.Join(path, ".")
		if f, ok := d.fields[key]; ok {
			if msg := setTOML(f.ptr(d.c), v); msg != "" {
				d.fail(path, key, msg)
				continue
			}
			d.origins[key] = d.source(path)
			continue
		}
		if d.tables[key] {
			sub, ok := v.(map[string]any)
			if !ok {
				d.fail(path, key, "want a table (["+key+"]), got "+tomlType(v))
				continue
			}
			d.table(sub, path)
			continue
		}
		msg := "unknown key"
		if s := suggest(key, d.names()); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		d.fail(path, displayKey(path), msg)
	}
}

// names returns every known key and table name, for suggestions.
func (d *fileDecoder) names() map[string]bool {
	names := make(map[string]bool, len(d.fields)+len(d.tables))
	for k := range d.fields {
		names[k] = true
	}
	for k := range d.tables {
		names[k] = true
	}
	return names
}

// fail records a problem with the key at path.
func (d *fileDecoder) fail(path []string, key, msg string) {
	d.errs = append(d.errs, lineError{
		line: d.lines[strings.Join(path, "\x00")],
		err:  &Error{Source: d.source(path), Key: key, Msg: msg},
	})
}

// source is "file:line" for the key at path, or just the file when the line
// is unknown.
func (d *fileDecoder) source(path []string) string {
	if line := d.lines[strings.Join(path, "\x00")]; line > 0 {
		return fmt.Sprintf("%s:%d", d.path, line)
	}
	return d.path
}

// keyLines maps every key path mentioned in data (tables, dotted-key
// prefixes, keys inside inline tables) to the line it is first mentioned
// on. toml.Unmarshal does not keep positions, so the document is walked a
// second time with the lower-level parser.
func keyLines(data []byte) map[string]int {
	lines := make(map[string]int)
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = nil
			it := e.Key()
			for it.Next() {
				table = append(table, string(it.Node().Data))
				record(lines, table, p.Shape(it.Node().Raw).Start.Line)
			}
		case unstable.KeyValue:
			recordKeyValue(&p, lines, table, e)
		}
	}
	return lines
}

// recordKeyValue records the lines of a key/value expression and of the
// keys of an inline table given as its value.
func recordKeyValue(p *unstable.Parser, lines map[string]int, prefix []string, kv *unstable.Node) {
	path := slices.Clip(prefix)
	it := kv.Key()
	for it.Next() {
		path = append(path, string(it.Node().Data))
		record(lines, path, p.Shape(it.Node().Raw).Start.Line)
	}
	if v := kv.Value(); v.Kind == unstable.InlineTable {
		children := v.Children()
		for children.Next() {
			if n := children.Node(); n.Kind == unstable.KeyValue {
				recordKeyValue(p, lines, path, n)
			}
		}
	}
}

// record keeps the first line a path is mentioned on.
func record(lines map[string]int, path []string, line int) {
	k := strings.Join(path, "\x00")
	if _, ok := lines[k]; !ok {
		lines[k] = line
	}
}

// setTOML stores the decoded TOML value v in the field ptr points to. It
// returns a message describing the problem, or "" on success.
func setTOML(ptr, v any) string {
	want := func() string { return "want " + typeName(ptr) + ", got " + tomlType(v) }
	switch p := ptr.(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			return want()
		}
		*p = s
	case *bool:
		b, ok := v.(bool)
		if !ok {
			return want()
		}
		*p = b
	case *int:
		n, ok := v.(int64)
		if !ok {
			return want()
		}
		// int is 32 bits on armv7.
		if int64(int(n)) != n {
			return fmt.Sprintf("%d is out of range", n)
		}
		*p = int(n)
	case *float64:
		switch n := v.(type) {
		case int64:
			*p = float64(n)
		case float64:
			*p = n
		default:
			return want()
		}
	case *time.Duration:
		s, ok := v.(string)
		if !ok {
			return want()
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("invalid duration %q: want a number with a unit, such as \"5s\", \"200ms\" or \"1h30m\"", s)
		}
		*p = dur
	case *[]string:
		arr, ok := v.([]any)
		if !ok {
			return want()
		}
		list := make([]string, 0, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				return fmt.Sprintf("element %d: want a string, got %s", i, tomlType(e))
			}
			list = append(list, s)
		}
		*p = list
	default:
		return want()
	}
	return ""
}

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v := v.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date/time"
	}
}

// displayKey joins a key path with dots, quoting parts that are not bare
// TOML keys so that the user can find them in the file.
func displayKey(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		if isBareKey(p) {
			parts[i] = p
		} else {
			parts[i] = strconv.Quote(p)
		}
	}
	return strings.Join(parts, ".")
}

// isBareKey reports whether TOML allows k without quotes.
func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}
