package hatemplate

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits that keep hostile templates and payloads cheap.
const (
	// MaxTemplateLen is the longest template source Parse accepts.
	MaxTemplateLen = 4 << 10
	// MaxOutputLen is the most text Render produces, and the largest
	// string or list any intermediate value may grow to.
	MaxOutputLen = 64 << 10
	// maxDepth bounds expression nesting while parsing and value nesting
	// while rendering.
	maxDepth = 32
)

// ErrUnsupported marks a template that uses Jinja beyond the supported
// subset; test with errors.Is.
var ErrUnsupported = errors.New("unsupported template construct")

// Template is a parsed template. It is immutable and safe for concurrent
// Render calls.
type Template struct {
	src   string
	parts []part
}

// part is literal text, an output expression, or a {% set %}.
type part struct {
	text string
	expr node
	set  string // variable name for a set statement
}

// Source returns the text the template was parsed from.
func (t *Template) Source() string { return t.src }

// Parse parses src. Anything outside the supported subset is an error that
// wraps ErrUnsupported or describes the syntax error.
func Parse(src string) (*Template, error) {
	if len(src) > MaxTemplateLen {
		return nil, fmt.Errorf("hatemplate: template longer than %d bytes", MaxTemplateLen)
	}
	if !utf8.ValidString(src) {
		return nil, errors.New("hatemplate: template is not valid UTF-8")
	}
	t := &Template{src: src}
	pos := 0
	trimNext := false // the previous tag ended with "-": strip leading whitespace
	for pos < len(src) {
		i := indexTagOpen(src, pos)
		text := src[pos:]
		if i >= 0 {
			text = src[pos:i]
		}
		if trimNext {
			text = strings.TrimLeft(text, " \t\r\n")
			trimNext = false
		}
		if i < 0 {
			t.addText(text)
			break
		}
		open := src[i : i+2]
		body := i + 2
		if body < len(src) && src[body] == '-' {
			text = strings.TrimRight(text, " \t\r\n")
			body++
		} else if body < len(src) && src[body] == '+' {
			body++
		}
		t.addText(text)
		var err error
		switch open {
		case "{#":
			end := strings.Index(src[body:], "#}")
			if end < 0 {
				return nil, fmt.Errorf("hatemplate: at offset %d: unterminated comment", i)
			}
			trimNext = end > 0 && src[body+end-1] == '-'
			pos = body + end + 2
			continue
		case "{{":
			pos, trimNext, err = t.parseOutput(src, body)
		case "{%":
			pos, trimNext, err = t.parseStatement(src, body)
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// indexTagOpen finds the next "{{", "{%" or "{#" at or after pos.
func indexTagOpen(src string, pos int) int {
	for i := pos; i+1 < len(src); i++ {
		if src[i] == '{' && (src[i+1] == '{' || src[i+1] == '%' || src[i+1] == '#') {
			return i
		}
	}
	return -1
}

func (t *Template) addText(s string) {
	if s != "" {
		t.parts = append(t.parts, part{text: s})
	}
}

func (t *Template) parseOutput(src string, body int) (int, bool, error) {
	p := &parser{lex: &lexer{src: src, pos: body}, closer: "}}"}
	if err := p.advance(); err != nil {
		return 0, false, err
	}
	return t.addExpr(p, "")
}

func (t *Template) parseStatement(src string, body int) (int, bool, error) {
	p := &parser{lex: &lexer{src: src, pos: body}, closer: "%}"}
	if err := p.advance(); err != nil {
		return 0, false, err
	}
	if !p.isName("set") {
		what := p.describe()
		return 0, false, fmt.Errorf("hatemplate: at offset %d: statement %s: %w (only set is supported)", p.tok.pos, what, ErrUnsupported)
	}
	if err := p.advance(); err != nil {
		return 0, false, err
	}
	if p.tok.kind != tokName {
		return 0, false, p.errorf("expected a variable name after set, found %s", p.describe())
	}
	name := p.tok.text
	if err := p.advance(); err != nil {
		return 0, false, err
	}
	if !p.isOp("=") {
		return 0, false, fmt.Errorf("hatemplate: at offset %d: block set or multiple targets: %w", p.tok.pos, ErrUnsupported)
	}
	if err := p.advance(); err != nil {
		return 0, false, err
	}
	return t.addExpr(p, name)
}

// addExpr parses the expression that ends a tag up to the tag's closer and
// adds it as a part, assigned to the variable set when set is not empty.
// It returns where the tag ends and whether its closer trims whitespace
// ("-}}").
func (t *Template) addExpr(p *parser, set string) (int, bool, error) {
	x, err := p.expr()
	if err != nil {
		return 0, false, err
	}
	if p.tok.kind != tokEnd {
		return 0, false, p.errorf("expected %q, found %s", p.closer, p.describe())
	}
	t.parts = append(t.parts, part{expr: x, set: set})
	return p.lex.pos, p.tok.text[0] == '-', nil
}

// Render evaluates the template. vars maps variable names to Go values as
// encoding/json decodes them (nil, bool, float64, json.Number, string,
// []any, map[string]any) plus int, int64 and float32; a variable left out
// is undefined. The result is what Home Assistant would render: True,
// False, None, Python float formatting, and empty text for undefined.
func (t *Template) Render(vars map[string]any) (string, error) {
	ev := &evaluator{vars: vars}
	if len(t.parts) == 1 && t.parts[0].expr != nil && t.parts[0].set == "" {
		// One output expression, as most state templates are: its text
		// needs no builder (a string value is returned as it is).
		v, err := ev.eval(t.parts[0].expr, 0)
		if err != nil {
			return "", err
		}
		s, err := toStr(v)
		if err != nil {
			return "", err
		}
		if len(s) > MaxOutputLen {
			return "", fmt.Errorf("hatemplate: output longer than %d bytes", MaxOutputLen)
		}
		return s, nil
	}
	var b strings.Builder
	for _, pt := range t.parts {
		if pt.expr == nil {
			b.WriteString(pt.text)
		} else {
			v, err := ev.eval(pt.expr, 0)
			if err != nil {
				return "", err
			}
			if pt.set != "" {
				if ev.locals == nil {
					ev.locals = map[string]any{}
				}
				ev.locals[pt.set] = v
				continue
			}
			if err := writeStr(&b, v, 0); err != nil {
				return "", err
			}
		}
		if b.Len() > MaxOutputLen {
			return "", fmt.Errorf("hatemplate: output longer than %d bytes", MaxOutputLen)
		}
	}
	return b.String(), nil
}

// Str formats a JSON-decoded value the way Python's str() and so Home
// Assistant do: true → True, nil → None, 21.0 → 21.0. Discovery uses it to
// compare configured payloads with rendered state.
func Str(v any) string {
	var b strings.Builder
	if err := writeStr(&b, normalize(v), 0); err != nil {
		return ""
	}
	return b.String()
}
