package hatemplate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
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

	reMu sync.Mutex
	re   map[string]*regexp.Regexp // regex_* patterns compiled, a few at most
}

// part is literal text, an output expression, a {% set %} or an
// {% if %} block.
type part struct {
	text string
	expr node
	set  string   // variable name for a set statement
	cond *ifBlock // an if statement with its branches
}

// ifBlock is {% if c1 %}b1{% elif c2 %}b2{% else %}b3{% endif %}: bodies
// has one entry per condition, plus one for else.
type ifBlock struct {
	conds  []node
	bodies [][]part
}

// Env is what a render reads besides its variables: the clock and time
// zone of now(), as_timestamp and timestamp_local.
type Env struct {
	Now      func() time.Time // nil: time.Now
	Location *time.Location   // nil: time.Local
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
	bl := &builder{t: t}
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
			bl.addText(text)
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
		bl.addText(text)
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
			pos, trimNext, err = bl.parseOutput(src, body)
		case "{%":
			pos, trimNext, err = bl.parseStatement(src, body)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(bl.stack) > 0 {
		return nil, errors.New("hatemplate: {% if %} without {% endif %}")
	}
	return t, nil
}

// builder collects parts, into the innermost open if block.
type builder struct {
	t     *Template
	stack []*ifBlock
	elsed []bool // the innermost block has had its else
}

func (bl *builder) add(p part) {
	if n := len(bl.stack); n > 0 {
		blk := bl.stack[n-1]
		i := len(blk.bodies) - 1
		blk.bodies[i] = append(blk.bodies[i], p)
		return
	}
	bl.t.parts = append(bl.t.parts, p)
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

func (bl *builder) addText(s string) {
	if s != "" {
		bl.add(part{text: s})
	}
}

func (bl *builder) parseOutput(src string, body int) (int, bool, error) {
	p := &parser{lex: &lexer{src: src, pos: body}, closer: "}}"}
	if err := p.advance(); err != nil {
		return 0, false, err
	}
	return bl.addExpr(p, "")
}

// endTag checks that the tag ends after its keyword.
func endTag(p *parser) (int, bool, error) {
	if p.tok.kind != tokEnd {
		return 0, false, p.errorf("expected %q, found %s", p.closer, p.describe())
	}
	return p.lex.pos, p.tok.text[0] == '-', nil
}

func (bl *builder) parseStatement(src string, body int) (int, bool, error) {
	p := &parser{lex: &lexer{src: src, pos: body}, closer: "%}"}
	if err := p.advance(); err != nil {
		return 0, false, err
	}
	kw, kwPos := p.tok.text, p.tok.pos
	if p.tok.kind == tokName {
		switch kw {
		case "if", "elif":
			if err := p.advance(); err != nil {
				return 0, false, err
			}
			cond, err := p.expr()
			if err != nil {
				return 0, false, err
			}
			n := len(bl.stack)
			if kw == "if" {
				if n >= maxDepth {
					return 0, false, p.errorf("if blocks nested deeper than %d", maxDepth)
				}
				blk := &ifBlock{conds: []node{cond}, bodies: [][]part{nil}}
				bl.add(part{cond: blk})
				bl.stack = append(bl.stack, blk)
				bl.elsed = append(bl.elsed, false)
			} else {
				if n == 0 || bl.elsed[n-1] {
					return 0, false, fmt.Errorf("hatemplate: at offset %d: elif outside an if block", kwPos)
				}
				blk := bl.stack[n-1]
				blk.conds = append(blk.conds, cond)
				blk.bodies = append(blk.bodies, nil)
			}
			return endTag(p)
		case "else", "endif":
			n := len(bl.stack)
			if n == 0 || (kw == "else" && bl.elsed[n-1]) {
				return 0, false, fmt.Errorf("hatemplate: at offset %d: %s outside an if block", kwPos, kw)
			}
			if err := p.advance(); err != nil {
				return 0, false, err
			}
			if kw == "else" {
				bl.stack[n-1].bodies = append(bl.stack[n-1].bodies, nil)
				bl.elsed[n-1] = true
			} else {
				bl.stack, bl.elsed = bl.stack[:n-1], bl.elsed[:n-1]
			}
			return endTag(p)
		}
	}
	if !p.isName("set") {
		what := p.describe()
		return 0, false, fmt.Errorf("hatemplate: at offset %d: statement %s: %w (only set and if/elif/else/endif are supported)", p.tok.pos, what, ErrUnsupported)
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
	return bl.addExpr(p, name)
}

// addExpr parses the expression that ends a tag up to the tag's closer and
// adds it as a part, assigned to the variable set when set is not empty.
// It returns where the tag ends and whether its closer trims whitespace
// ("-}}").
func (bl *builder) addExpr(p *parser, set string) (int, bool, error) {
	x, err := p.expr()
	if err != nil {
		return 0, false, err
	}
	if p.tok.kind != tokEnd {
		return 0, false, p.errorf("expected %q, found %s", p.closer, p.describe())
	}
	bl.add(part{expr: x, set: set})
	return p.lex.pos, p.tok.text[0] == '-', nil
}

// Render evaluates the template with the system clock and time zone; see
// RenderEnv.
func (t *Template) Render(vars map[string]any) (string, error) {
	return t.RenderEnv(vars, Env{})
}

// RenderEnv evaluates the template. vars maps variable names to Go values
// as encoding/json decodes them (nil, bool, float64, json.Number, string,
// []any, map[string]any) plus int, int64 and float32; a variable left out
// is undefined. The result is what Home Assistant would render: True,
// False, None, Python float formatting, and empty text for undefined.
func (t *Template) RenderEnv(vars map[string]any, env Env) (string, error) {
	ev := &evaluator{vars: vars, t: t, env: env}
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
	if err := ev.render(&b, t.parts, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (ev *evaluator) render(b *strings.Builder, parts []part, depth int) error {
	for _, pt := range parts {
		switch {
		case pt.cond != nil:
			for i, c := range pt.cond.conds {
				v, err := ev.eval(c, depth)
				if err != nil {
					return err
				}
				if truthy(v) {
					if err := ev.render(b, pt.cond.bodies[i], depth+1); err != nil {
						return err
					}
					goto next
				}
			}
			if len(pt.cond.bodies) > len(pt.cond.conds) {
				if err := ev.render(b, pt.cond.bodies[len(pt.cond.conds)], depth+1); err != nil {
					return err
				}
			}
		case pt.expr == nil:
			b.WriteString(pt.text)
		default:
			v, err := ev.eval(pt.expr, depth)
			if err != nil {
				return err
			}
			if pt.set != "" {
				if ev.locals == nil {
					ev.locals = map[string]any{}
				}
				ev.locals[pt.set] = v
				continue
			}
			if err := writeStr(b, v, 0); err != nil {
				return err
			}
		}
	next:
		if b.Len() > MaxOutputLen {
			return fmt.Errorf("hatemplate: output longer than %d bytes", MaxOutputLen)
		}
	}
	return nil
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
