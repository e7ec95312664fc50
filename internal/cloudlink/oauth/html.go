package oauth

import (
	"strconv"
	"strings"
)

// HTML is markup that is already escaped: what a status Section renders.
//
// The pages are written in Go rather than with html/template on purpose:
// text/template calls methods by name through reflection, which makes the
// linker keep every exported method of every type in the binary (2.2 MB of
// the stripped arm64 binary). Every value from outside goes through
// HTMLBuilder.Text, which escapes for both text and quoted attribute values.
type HTML string

// HTMLBuilder accumulates a page or a status section. Raw is for the
// agent's own markup only; everything else goes through Text.
type HTMLBuilder struct{ strings.Builder }

// Raw appends markup written by the agent itself.
func (b *HTMLBuilder) Raw(s string) { b.WriteString(s) }

// Text appends s escaped as html.EscapeString does (<, >, &, ' and "),
// safe in text and in quoted attribute values. Package html is not used:
// its entity tables add 80 KB to the binary for a five-case loop.
func (b *HTMLBuilder) Text(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&#39;"
		case '"':
			esc = "&#34;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// Int appends a number.
func (b *HTMLBuilder) Int(n int64) { b.WriteString(strconv.FormatInt(n, 10)) }

// Checked appends " checked" when on, for a checkbox input.
func (b *HTMLBuilder) Checked(on bool) {
	if on {
		b.WriteString(" checked")
	}
}

// HTML returns what was built.
func (b *HTMLBuilder) HTML() HTML { return HTML(b.String()) }
