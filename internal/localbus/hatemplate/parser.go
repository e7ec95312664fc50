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
	filterNode struct {
		x    node
		name string
		args []node
	}
	testNode struct {
		x    node
		name string
		neg  bool
	}
	binNode struct {
		op   string
		l, r node
	}
	notNode  struct{ x node }
	negNode  struct{ x node }
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
		case p.isName("is"):
			if l, err = p.test(l); err != nil {
				return nil, err
			}
			continue
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
	switch name {
	case "defined", "undefined", "none", "number", "string", "mapping", "boolean", "integer", "float":
	default:
		return nil, p.errorf("unsupported test %q", name)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return testNode{x: x, name: name, neg: neg}, nil
}

func (p *parser) add() (node, error) {
	l, err := p.mul()
	for err == nil && p.tok.kind == tokOp && (p.tok.text == "+" || p.tok.text == "-" || p.tok.text == "~") {
		op := p.tok.text
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.mul(); err == nil {
			l = binNode{op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) mul() (node, error) {
	l, err := p.unary()
	for err == nil && p.tok.kind == tokOp && (p.tok.text == "*" || p.tok.text == "/" || p.tok.text == "//" || p.tok.text == "%") {
		op := p.tok.text
		if err = p.advance(); err != nil {
			return nil, err
		}
		var r node
		if r, err = p.unary(); err == nil {
			l = binNode{op: op, l: l, r: r}
		}
	}
	if err == nil && p.isOp("**") {
		return nil, p.errorf("unsupported operator \"**\"")
	}
	return l, err
}

func (p *parser) unary() (node, error) {
	if p.isOp("-") || p.isOp("+") {
		neg := p.tok.text == "-"
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil || !neg {
			return x, err
		}
		return negNode{x}, nil
	}
	x, err := p.postfix()
	if err != nil {
		return nil, err
	}
	for p.isOp("|") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokName {
			return nil, p.errorf("expected a filter name, found %s", p.describe())
		}
		name := p.tok.text
		if !knownFilter(name) {
			return nil, p.errorf("unsupported filter %q", name)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		var args []node
		if p.isOp("(") {
			if args, err = p.args(); err != nil {
				return nil, err
			}
		}
		x = filterNode{x: x, name: name, args: args}
	}
	return x, nil
}

// args parses "(a, b, ...)"; the current token is "(". Keyword arguments
// are refused: no supported filter needs them.
func (p *parser) args() ([]node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	var args []node
	for !p.isOp(")") {
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.isOp("=") {
			return nil, p.errorf("keyword arguments are not supported")
		}
		args = append(args, a)
		if len(args) > 8 {
			return nil, p.errorf("too many arguments")
		}
		if !p.isOp(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return args, p.expectOp(")")
}

func (p *parser) postfix() (node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
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
				return nil, p.errorf("slices are not supported")
			}
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.isOp(":") {
				return nil, p.errorf("slices are not supported")
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			x = indexNode{x: x, idx: idx}
		case p.isOp("("):
			a, ok := x.(attrNode)
			if !ok || !knownMethod(a.name) {
				return nil, p.errorf("unsupported function call")
			}
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			x = callNode{x: a, args: args}
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
