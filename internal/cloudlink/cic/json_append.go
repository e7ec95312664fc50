package cic

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The answers of the hot path (QueryStatus) are written without
// reflection: encoding/json's reflection, its sorting of map keys and the
// copies of each device's state were a fifth of the agent's CPU per call.
// The bytes are exactly encoding/json's (tests compare the two, and
// FuzzAppendString compares the string escaping).

// jsonAppender is a payload that writes its own JSON.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// maxScratch is the largest buffer given back to the pool: a rare huge
// answer (a Discover of every device) is not kept alive by it.
const maxScratch = 64 << 10

// scratchPool holds the buffers answers are assembled in; the answer itself
// is copied out at its exact size, because the idempotency window keeps it.
type scratchPool struct{ p sync.Pool }

func (s *scratchPool) get() *[]byte {
	if bp, ok := s.p.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 4096)
	return &b
}

// encodeResponse renders a response envelope: {"header":…,"payload":…}.
func (s *scratchPool) encodeResponse(hd Header, payload any) ([]byte, error) {
	bp := s.get()
	b := appendHeader(append((*bp)[:0], `{"header":`...), hd)
	b = append(b, `,"payload":`...)
	if a, ok := payload.(jsonAppender); ok {
		b = a.appendJSON(b)
	} else {
		p, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("cic: encode %s: %w", hd.Name, err)
		}
		b = append(b, p...)
	}
	b = append(b, '}')
	out := make([]byte, len(b))
	copy(out, b)
	if cap(b) <= maxScratch {
		*bp = b
		s.p.Put(bp)
	}
	return out, nil
}

// appendHeader appends an envelope header as encoding/json writes Header.
func appendHeader(b []byte, hd Header) []byte {
	b = append(b, `{"namespace":`...)
	b = appendString(b, hd.Namespace)
	b = append(b, `,"name":`...)
	b = appendString(b, hd.Name)
	b = append(b, `,"messageId":`...)
	b = appendString(b, hd.MessageID)
	b = append(b, `,"payloadVersion":`...)
	b = appendString(b, hd.PayloadVersion)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, hd.Timestamp, 10)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does by
// default: HTML-safe (<, >, & escaped), invalid UTF-8 replaced by U+FFFD,
// U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendHeader appends hd as encoding/json encodes a Header; AppendString
// appends s as it encodes a string. For envelopes written elsewhere
// without reflection (notifications).
func AppendHeader(b []byte, hd Header) []byte { return appendHeader(b, hd) }

// AppendString: see AppendHeader.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }
