package hatemplate

import (
	"fmt"
	"strconv"
)

// node is one expression of the syntax tree.
type node interface{}

type (
	litNode  struct{ v any }
	nameNode struct{ name string }
	attrNode struct {
		x    node
		name string
	}
	indexNode struct{ x, idx node }
	callNode  struct {
		x    node // an attrNode: the method and its receiver
		args []node
	}
	// funcNode calls a global function (now, iif, float, ...); args are
	// bound to the builtin's parameters at parse time, nil = not given.
	funcNode struct {
		fn   *builtin
		args []node
	}
	// filterNode applies a filter; args are bound like funcNode's, the
	// filtered value not included.
	filterNode struct {
		x    node
		fn   *builtin
		args []node
	}
	testNode struct {
		x    node
		name string
		neg  bool
		arg  node // match/search pattern, eq/ne/... operand
	}
	binNode struct {
		op   string
		l, r node
	}
	notNode struct{ x node }
	negNode struct{ x node }
	posNode struct{ x node }
	kwarg   struct {
		name string
		x    node
	}
	condNode struct{ cond, a, b node } // b nil renders undefined, as Jinja does
	listNode struct{ items []node }
	dictNode struct{ keys, vals []node }
)

// parser is a recursive-descent parser over the tokens of one tag.
type parser struct {
	lex    *lexer
	closer string
	tok    token
	depth  int
}

func (p *parser) advance() error {
	t, err := p.lex.next(p.closer)
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("hatemplate: at offset %d: %s", p.tok.pos, fmt.Sprintf(format, args...))
}

func (p *parser) isOp(s string) bool   { return p.tok.kind == tokOp && p.tok.text == s }
func (p *parser) isName(s string) bool { return p.tok.kind == tokName && p.tok.text == s }

func (p *parser) expectOp(s string) error {
	if !p.isOp(s) {
		return p.errorf("expected %q, found %s", s, p.describe())
	}
	return p.advance()
}

func (p *parser) describe() string {
	switch p.tok.kind {
	case tokEOF:
		return "end of template"
	case tokEnd:
		return "end of tag"
	case tokString:
		return strconv.Quote(p.tok.text)
	}
	return fmt.Sprintf("%q", p.tok.text)
}

// enter bounds recursion so hostile input cannot exhaust the stack.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("expression nested deeper than %d", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// expr parses a conditional expression: a if cond else b.
func (p *parser) expr() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	a, err := p.or()
	if err != nil {
		return nil, err
	}
	if !p.isName("if") {
		return a, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cond, err := p.or()
	if err != nil {
		return nil, err
	}
	var b node
	if p.isName("else") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if b, err = p.expr(); err != nil {
			return nil, err
		}
	}
	return condNode{cond: cond, a: a, b: b}, nil
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	for err == nil && p.isName("or") {
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.and(); err == nil {
			l = binNode{op: "or", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) and() (node, error) {
	l, err := p.not()
	for err == nil && p.isName("and") {
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.not(); err == nil {
			l = binNode{op: "and", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) not() (node, error) {
	if !p.isName("not") {
		return p.compare()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	return notNode{x}, nil
}

func (p *parser) compare() (node, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	for {
		var op string
		switch {
		case p.tok.kind == tokOp && (p.tok.text == "==" || p.tok.text == "!=" || p.tok.text == "<" ||
			p.tok.text == ">" || p.tok.text == "<=" || p.tok.text == ">="):
			op = p.tok.text
		case p.isName("in"):
			op = "in"
		case p.isName("not"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			if !p.isName("in") {
				return nil, p.errorf("expected \"in\" after \"not\", found %s", p.describe())
			}
			op = "not in"
		default:
			return l, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.add()
		if err != nil {
			return nil, err
		}
		l = binNode{op: op, l: l, r: r}
	}
}

func (p *parser) test(x node) (node, error) {
	if err := p.advance(); err != nil { // "is"
		return nil, err
	}
	neg := false
	if p.isName("not") {
		neg = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tokName {
		return nil, p.errorf("expected a test name after \"is\", found %s", p.describe())
	}
	name := p.tok.text
	arity, ok := knownTest(name)
	if !ok {
		return nil, fmt.Errorf("hatemplate: at offset %d: test %q: %w", p.tok.pos, name, ErrUnsupported)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	tn := testNode{x: x, name: name, neg: neg}
	if arity == 1 {
		// Jinja2 takes the argument in parentheses or bare: "is eq(3)", "is eq 3".
		var err error
		if p.isOp("(") {
			args, kw, err := p.args()
			if err != nil {
				return nil, err
			}
			if len(args) != 1 || len(kw) != 0 {
				return nil, p.errorf("test %q takes one argument", name)
			}
			tn.arg = args[0]
		} else if tn.arg, err = p.primary(); err != nil {
			return nil, err
		}
	}
	return tn, nil
}

// Binary operators bind as in Jinja2: + - below ~ below * / // % below **
// below unary minus, which is below filters and tests: -x | int is
// (-x) | int, a + b is defined is a + (b is defined).
func (p *parser) add() (node, error) {
	l, err := p.concat()
	for err == nil && p.tok.kind == tokOp && (p.tok.text == "+" || p.tok.text == "-") {
		op := p.tok.text
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.concat(); err == nil {
			l = binNode{op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) concat() (node, error) {
	l, err := p.mul()
	for err == nil && p.isOp("~") {
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.mul(); err == nil {
			l = binNode{op: "~", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) pow() (node, error) {
	l, err := p.unary(true)
	for err == nil && p.isOp("**") {
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.unary(true); err == nil {
			l = binNode{op: "**", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) mul() (node, error) {
	l, err := p.pow()
	for err == nil && p.tok.kind == tokOp && (p.tok.text == "*" || p.tok.text == "/" || p.tok.text == "//" || p.tok.text == "%") {
		op := p.tok.text
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.pow(); err == nil {
			l = binNode{op: op, l: l, r: r}
		}
	}
	return l, err
}

// unary is Jinja2's parse_unary: a sign applies to the operand with its
// postfix (attributes, calls), and the filters and tests that follow apply
// to the signed value.
func (p *parser) unary(withFilter bool) (node, error) {
	var x node
	if p.isOp("-") || p.isOp("+") {
		neg := p.tok.text == "-"
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		if err := p.advance(); err != nil {
			return nil, err
		}
		inner, err := p.unary(false)
		if err != nil {
			return nil, err
		}
		x = inner
		if neg {
			x = negNode{inner}
		} else {
			x = posNode{inner}
		}
	} else {
		var err error
		if x, err = p.primary(); err != nil {
			return nil, err
		}
	}
	x, err := p.postfixOf(x)
	if err != nil || !withFilter {
		return x, err
	}
	for {
		switch {
		case p.isOp("|"):
			if x, err = p.filter(x); err != nil {
				return nil, err
			}
		case p.isName("is"):
			if x, err = p.test(x); err != nil {
				return nil, err
			}
		default:
			return x, nil
		}
	}
}

func (p *parser) filter(x node) (node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokName {
		return nil, p.errorf("expected a filter name, found %s", p.describe())
	}
	name, pos := p.tok.text, p.tok.pos
	fn := filters[name]
	if fn == nil {
		return nil, fmt.Errorf("hatemplate: at offset %d: filter %q: %w", pos, name, ErrUnsupported)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var args []node
	if p.isOp("(") {
		pos, kw, err := p.args()
		if err != nil {
			return nil, err
		}
		if args, err = fn.bind(pos, kw); err != nil {
			return nil, p.errorf("filter %s: %v", name, err)
		}
	} else if fn.required > 0 {
		return nil, p.errorf("filter %s needs arguments", name)
	}
	return filterNode{x: x, fn: fn, args: args}, nil
}

// args parses "(a, b, k=v, ...)"; the current token is "(".
func (p *parser) args() ([]node, []kwarg, error) {
	if err := p.advance(); err != nil {
		return nil, nil, err
	}
	var args []node
	var kws []kwarg
	for !p.isOp(")") {
		if p.tok.kind == tokName {
			// A keyword argument: name "=" expr (lookahead on a copy).
			save, saveLex := p.tok, *p.lex
			name := p.tok.text
			if err := p.advance(); err != nil {
				return nil, nil, err
			}
			if p.isOp("=") {
				if err := p.advance(); err != nil {
					return nil, nil, err
				}
				v, err := p.expr()
				if err != nil {
					return nil, nil, err
				}
				kws = append(kws, kwarg{name, v})
				goto next
			}
			p.tok, *p.lex = save, saveLex
		}
		if len(kws) > 0 {
			return nil, nil, p.errorf("positional argument after a keyword argument")
		}
		{
			a, err := p.expr()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, a)
		}
	next:
		if len(args)+len(kws) > 8 {
			return nil, nil, p.errorf("too many arguments")
		}
		if !p.isOp(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, nil, err
		}
	}
	return args, kws, p.expectOp(")")
}

func (p *parser) postfixOf(x node) (node, error) {
	for {
		switch {
		case p.isOp("."):
			if err := p.advance(); err != nil {
				return nil, err
			}
			switch p.tok.kind {
			case tokName:
				x = attrNode{x: x, name: p.tok.text}
			case tokNumber: // Jinja allows list.0
				n, err := strconv.ParseInt(p.tok.text, 10, 64)
				if err != nil {
					return nil, p.errorf("bad index %q", p.tok.text)
				}
				x = indexNode{x: x, idx: litNode{n}}
			default:
				return nil, p.errorf("expected an attribute name, found %s", p.describe())
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		case p.isOp("["):
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.isOp(":") {
				return nil, fmt.Errorf("hatemplate: at offset %d: slice: %w", p.tok.pos, ErrUnsupported)
			}
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.isOp(":") {
				return nil, fmt.Errorf("hatemplate: at offset %d: slice: %w", p.tok.pos, ErrUnsupported)
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			x = indexNode{x: x, idx: idx}
		case p.isOp("("):
			switch f := x.(type) {
			case attrNode:
				if !knownMethod(f.name) {
					return nil, fmt.Errorf("hatemplate: at offset %d: method %s(): %w", p.tok.pos, f.name, ErrUnsupported)
				}
				args, kw, err := p.args()
				if err != nil {
					return nil, err
				}
				if len(kw) > 0 {
					return nil, p.errorf("method %s: keyword arguments are not supported", f.name)
				}
				x = callNode{x: f, args: args}
			case nameNode:
				fn := functions[f.name]
				if fn == nil {
					return nil, fmt.Errorf("hatemplate: at offset %d: function %s(): %w", p.tok.pos, f.name, ErrUnsupported)
				}
				args, kw, err := p.args()
				if err != nil {
					return nil, err
				}
				bound, err := fn.bind(args, kw)
				if err != nil {
					return nil, p.errorf("%s(): %v", f.name, err)
				}
				x = funcNode{fn: fn, args: bound}
			default:
				return nil, fmt.Errorf("hatemplate: at offset %d: calling this expression: %w", p.tok.pos, ErrUnsupported)
			}
		default:
			return x, nil
		}
	}
}

func (p *parser) primary() (node, error) {
	t := p.tok
	switch t.kind {
	case tokNumber:
		if err := p.advance(); err != nil {
			return nil, err
		}
		if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return litNode{i}, nil
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, fmt.Errorf("hatemplate: at offset %d: bad number %q", t.pos, t.text)
		}
		return litNode{f}, nil
	case tokString:
		return litNode{t.text}, p.advance()
	case tokName:
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch t.text {
		case "true", "True":
			return litNode{true}, nil
		case "false", "False":
			return litNode{false}, nil
		case "none", "None":
			return litNode{nil}, nil
		case "if", "else", "and", "or", "not", "in", "is":
			return nil, fmt.Errorf("hatemplate: at offset %d: unexpected %q", t.pos, t.text)
		}
		return nameNode{t.text}, nil
	case tokOp:
		switch t.text {
		case "(":
			if err := p.advance(); err != nil {
				return nil, err
			}
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			return p.list()
		case "{":
			return p.dict()
		}
	}
	return nil, p.errorf("unexpected %s", p.describe())
}

func (p *parser) list() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.advance(); err != nil {
		return nil, err
	}
	var l listNode
	for !p.isOp("]") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, x)
		if !p.isOp(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return l, p.expectOp("]")
}

func (p *parser) dict() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.advance(); err != nil {
		return nil, err
	}
	var d dictNode
	for !p.isOp("}") {
		k, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(":"); err != nil {
			return nil, err
		}
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k)
		d.vals = append(d.vals, v)
		if !p.isOp(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return d, p.expectOp("}")
}
