package hadiscovery

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// stateJSONCases are payloads where parseStateJSON and decodeJSON must
// agree with encoding/json's own validator and decoder.
var stateJSONCases = []string{
	`{"temperature":21.5,"linkquality":80}`, `{}`, `[]`, `[1,[2,{}]]`, `"x"`, `true`, `false`, `null`,
	`0`, `-0`, `-1.5e+10`, `1E5`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `1.5.3`,
	` { "a" : [ 1 , 2 ] } `, "\t\r\n1\n", ``, `   `, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `[1 2]`,
	`{"a":1}}`, `{"a":1}]`, `{"a":1}]]]`, `[1]]`, `1]x`, `1 }`, "1 \n", "1\u00a0", `{"a":1} x`, `1x`, `truex`, `tru`, `nul`, `"a" "b"`,
	`{"a":1,"a":2}`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`,
	`"\ud83d\u0041"`, `"\uZZZZ"`, `"\x"`, `"\'"`, "\"a\x01\"", `"unterminated`, `"é"`, `{"é":"ü"}`,
	strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth),
	strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1),
	`123456789012345678901234567890`, `1e400`, `{"POWER":"ON","Dimmer":40}`,
}

// refStateJSON is the oracle, independent of both decoders under test:
// json.Valid (one value, nothing but whitespace after it), encoding/json's
// decode with exact numbers, and the depth limit.
func refStateJSON(text string) (any, bool) {
	if !json.Valid([]byte(text)) || checkJSONDepth([]byte(text), MaxJSONDepth) != nil {
		return nil, false
	}
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func checkStateJSON(t *testing.T, text string) {
	t.Helper()
	want, wantOK := refStateJSON(text)
	dv, derr := decodeJSON([]byte(text))
	if derr == nil && checkJSONDepth([]byte(text), MaxJSONDepth) != nil {
		dv, derr = nil, errors.New("too deep")
	}
	if (derr == nil) != wantOK || !reflect.DeepEqual(dv, want) {
		t.Errorf("decodeJSON(%q) = %#v, %v; encoding/json: %#v, %v", text, dv, derr, want, wantOK)
	}
	got, gotOK := any(nil), false
	if checkJSONDepth([]byte(text), MaxJSONDepth) == nil {
		got, gotOK = parseStateJSON(text)
	}
	if gotOK != wantOK || !reflect.DeepEqual(got, want) {
		t.Errorf("parseStateJSON(%q) = %#v, %v; encoding/json: %#v, %v", text, got, gotOK, want, wantOK)
	}
}

func TestStateJSONDecodersMatchEncodingJSON(t *testing.T) {
	for _, text := range stateJSONCases {
		checkStateJSON(t, text)
	}
}

// FuzzStateJSON checks parseStateJSON and decodeJSON against encoding/json
// on any text (DecodeState refuses payloads that are not valid UTF-8 before
// decoding).
func FuzzStateJSON(f *testing.F) {
	for _, text := range stateJSONCases {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		checkStateJSON(t, text)
	})
}
