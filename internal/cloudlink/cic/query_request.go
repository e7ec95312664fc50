package cic

import "unicode/utf8"

// parseQueryRequest reads the common shape of a QueryStatus payload,
// {"deviceIds":["id",…]} with plain ids (no escapes, valid UTF-8), without
// encoding/json's Decoder. It reports false for anything else, which then
// goes through decodePayload: its strict decoding and its error messages
// stay the only ones. What it accepts decodes exactly as decodePayload
// decodes it (FuzzParseQueryRequest).
func parseQueryRequest(raw []byte) ([]string, bool) {
	// The ids are slices of one copy of the payload: one allocation
	// instead of one per id.
	p := queryParser{b: raw, s: string(raw)}
	if !p.lit('{') || !p.key() || !p.lit(':') || !p.lit('[') {
		return nil, false
	}
	ids := make([]string, 0, 16)
	if !p.lit(']') {
		for {
			id, ok := p.str()
			if !ok {
				return nil, false
			}
			ids = append(ids, id)
			if p.lit(']') {
				break
			}
			if !p.lit(',') || len(ids) > MaxQueryIDs {
				return nil, false
			}
		}
	}
	if !p.lit('}') {
		return nil, false
	}
	p.ws()
	return ids, p.i == len(p.b)
}

type queryParser struct {
	b []byte
	s string // b as a string
	i int
}

func (p *queryParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// lit skips whitespace and one expected byte.
func (p *queryParser) lit(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// key reads the one field name, spelled exactly (encoding/json would also
// take other cases; those go the slow way).
func (p *queryParser) key() bool {
	p.ws()
	const k = `"deviceIds"`
	if len(p.b)-p.i >= len(k) && string(p.b[p.i:p.i+len(k)]) == k {
		p.i += len(k)
		return true
	}
	return false
}

// str reads a string without escapes or control characters, valid UTF-8.
func (p *queryParser) str() (string, bool) {
	if !p.lit('"') {
		return "", false
	}
	start := p.i
	ascii := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			if !ascii && !utf8.ValidString(s) {
				return "", false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return "", false
}
