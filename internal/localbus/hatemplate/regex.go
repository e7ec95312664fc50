package hatemplate

import (
	"fmt"
	"regexp"
	"strings"
)

// maxPatternLen bounds regex_* patterns. Go's regexp runs in time linear
// in the input, so a hostile pattern cannot backtrack; Python-only syntax
// (look-around, back-references) fails to compile and is an error.
const maxPatternLen = 256

// regexCacheLen is how many distinct patterns a Template keeps compiled.
const regexCacheLen = 8

// compileRegex compiles a Python pattern for re.match (anchored at the
// start) or re.search, through the template's small cache.
func (ev *evaluator) compileRegex(pattern any, anchored bool, ignorecase any) (*regexp.Regexp, error) {
	p, ok := pattern.(string)
	if !ok {
		if !given(pattern) {
			p = ""
		} else {
			return nil, fmt.Errorf("hatemplate: regex pattern must be a string, not %s", typeName(pattern))
		}
	}
	if len(p) > maxPatternLen {
		return nil, fmt.Errorf("hatemplate: regex pattern longer than %d bytes", maxPatternLen)
	}
	src := p
	if anchored {
		src = `\A(?:` + src + `)`
	}
	if given(ignorecase) && truthy(ignorecase) {
		src = "(?i)" + src
	}
	if ev.t != nil {
		ev.t.reMu.Lock()
		re := ev.t.re[src]
		ev.t.reMu.Unlock()
		if re != nil {
			return re, nil
		}
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("hatemplate: regex %q: %w (%v)", p, ErrUnsupported, err)
	}
	if ev.t != nil {
		ev.t.reMu.Lock()
		if ev.t.re == nil {
			ev.t.re = map[string]*regexp.Regexp{}
		}
		if len(ev.t.re) < regexCacheLen {
			ev.t.re[src] = re
		}
		ev.t.reMu.Unlock()
	}
	return re, nil
}

// regexSubject is what Home Assistant's regex filters match against: the
// value as text.
func regexSubject(v any) (string, error) {
	return toStr(v)
}

func fRegexMatch(anchored bool) func(*evaluator, []any) (any, error) {
	return func(ev *evaluator, a []any) (any, error) {
		s, err := regexSubject(a[0])
		if err != nil {
			return nil, err
		}
		re, err := ev.compileRegex(arg(a, 1), anchored, arg(a, 2))
		if err != nil {
			return nil, err
		}
		return re.MatchString(s), nil
	}
}

// pyReplacement converts a Python re.sub replacement (\1, \g<1>, \g<name>,
// \n, \\) to Go's Expand syntax.
func pyReplacement(r string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(r):
			i++
			switch d := r[i]; {
			case d >= '0' && d <= '9':
				j := i
				for j < len(r) && j < i+2 && r[j] >= '0' && r[j] <= '9' {
					j++
				}
				b.WriteString("${" + r[i:j] + "}")
				i = j - 1
			case d == 'g' && i+1 < len(r) && r[i+1] == '<':
				end := strings.IndexByte(r[i:], '>')
				if end < 0 {
					return "", fmt.Errorf("hatemplate: regex replacement: missing >")
				}
				b.WriteString("${" + r[i+2:i+end] + "}")
				i += end
			case d == 'n':
				b.WriteByte('\n')
			case d == 't':
				b.WriteByte('\t')
			case d == '\\':
				b.WriteByte('\\')
			default:
				return "", fmt.Errorf("hatemplate: regex replacement: bad escape \\%c", d)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func fRegexReplace(ev *evaluator, a []any) (any, error) {
	s, err := regexSubject(a[0])
	if err != nil {
		return nil, err
	}
	re, err := ev.compileRegex(arg(a, 1), false, arg(a, 3))
	if err != nil {
		return nil, err
	}
	repl := ""
	if r := arg(a, 2); given(r) {
		rs, ok := r.(string)
		if !ok {
			return nil, fmt.Errorf("hatemplate: regex_replace: replacement must be a string")
		}
		if repl, err = pyReplacement(rs); err != nil {
			return nil, err
		}
	}
	var out []byte
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		out = append(out, s[last:m[0]]...)
		out = re.ExpandString(out, repl, s, m)
		last = m[1]
		if len(out) > MaxOutputLen {
			return nil, fmt.Errorf("hatemplate: string longer than %d bytes", MaxOutputLen)
		}
	}
	out = append(out, s[last:]...)
	return string(out), nil
}

// findall is re.findall: whole matches without groups, the group with
// one; several groups (Python returns tuples) are refused.
func (ev *evaluator) findall(a []any, ignorecase any) ([]any, error) {
	s, err := regexSubject(a[0])
	if err != nil {
		return nil, err
	}
	re, err := ev.compileRegex(arg(a, 1), false, ignorecase)
	if err != nil {
		return nil, err
	}
	if re.NumSubexp() > 1 {
		return nil, fmt.Errorf("hatemplate: regex_findall with several groups: %w", ErrUnsupported)
	}
	var out []any
	for _, m := range re.FindAllStringSubmatch(s, MaxOutputLen) {
		out = append(out, m[len(m)-1])
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func fRegexFindall(ev *evaluator, a []any) (any, error) { return ev.findall(a, arg(a, 2)) }

func fRegexFindallIndex(ev *evaluator, a []any) (any, error) {
	list, err := ev.findall(a, arg(a, 3))
	if err != nil {
		return nil, err
	}
	idx := int64(0)
	if i := arg(a, 2); given(i) {
		var ok bool
		if idx, ok = integer(i); !ok {
			return nil, fmt.Errorf("hatemplate: regex_findall_index: index must be an int")
		}
	}
	if idx < 0 {
		idx += int64(len(list))
	}
	if idx < 0 || idx >= int64(len(list)) {
		return nil, fmt.Errorf("hatemplate: regex_findall_index: list index out of range")
	}
	return list[idx], nil
}
