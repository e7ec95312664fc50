package hatemplate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind classifies a token of an expression.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokName           // identifiers and keywords (if, else, and, or, not, in, is, true, ...)
	tokNumber         // 12, 1.5, 1e3
	tokString         // 'x' or "x", already unescaped
	tokOp             // punctuation and operators
	tokEnd            // }} or %} (with an optional leading -)
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// lexer tokenizes one expression, from just after "{{" or "{%" up to and
// including the closing delimiter.
type lexer struct {
	src string
	pos int
}

func (l *lexer) errorf(format string, args ...any) error {
	return fmt.Errorf("hatemplate: at offset %d: %s", l.pos, fmt.Sprintf(format, args...))
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token. closer is "}}" or "%}".
func (l *lexer) next(closer string) (token, error) {
	for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	rest := l.src[l.pos:]
	if strings.HasPrefix(rest, closer) {
		l.pos += 2
		return token{kind: tokEnd, text: closer, pos: start}, nil
	}
	if strings.HasPrefix(rest, "-"+closer) {
		l.pos += 3
		return token{kind: tokEnd, text: "-" + closer, pos: start}, nil
	}
	c := rest[0]
	switch {
	case isNameStart(c):
		i := 1
		for i < len(rest) && (isNameStart(rest[i]) || isDigit(rest[i])) {
			i++
		}
		l.pos += i
		return token{kind: tokName, text: rest[:i], pos: start}, nil
	case isDigit(c):
		i := 0
		for i < len(rest) && (isDigit(rest[i]) || rest[i] == '_') {
			i++
		}
		if i+1 < len(rest) && rest[i] == '.' && isDigit(rest[i+1]) {
			i++
			for i < len(rest) && isDigit(rest[i]) {
				i++
			}
		}
		if i < len(rest) && (rest[i] == 'e' || rest[i] == 'E') {
			j := i + 1
			if j < len(rest) && (rest[j] == '+' || rest[j] == '-') {
				j++
			}
			if j < len(rest) && isDigit(rest[j]) {
				for j < len(rest) && isDigit(rest[j]) {
					j++
				}
				i = j
			}
		}
		l.pos += i
		return token{kind: tokNumber, text: strings.ReplaceAll(rest[:i], "_", ""), pos: start}, nil
	case c == '\'' || c == '"':
		return l.lexString(c)
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "//", "**"} {
		if strings.HasPrefix(rest, op) {
			l.pos += 2
			return token{kind: tokOp, text: op, pos: start}, nil
		}
	}
	if strings.IndexByte("()[]{},:.|+-*/%~<>=", c) >= 0 {
		l.pos++
		return token{kind: tokOp, text: rest[:1], pos: start}, nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return token{}, l.errorf("unexpected character %q", r)
}

func (l *lexer) lexString(q byte) (token, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == q:
			l.pos++
			return token{kind: tokString, text: b.String(), pos: start}, nil
		case c == '\\' && l.pos+1 < len(l.src):
			l.pos++
			switch e := l.src[l.pos]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				// Python keeps unknown escapes verbatim.
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			l.pos++
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	l.pos = start
	return token{}, l.errorf("unterminated string")
}
