package hadiscovery

import (
	"encoding/json"
	"errors"
	"math"
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
	`{"state":"ON","brightness":254,"color":{"x":0.3,"y":0.3},"color_temp":null}`, `{"state":"O\u004e","a\"b":[{}]}`,
	`{"brightness":1e999,"x":-0.0,"y":[1,"2",{"z":false}]}`, `{"a":{"b":1},"a":"dup"}`, ` {"a":1} `, `{"a":1}{`,
	`{"a":[1,2}`, `{"a":{"b":1]}`, `{"a":"\uZZZZ"}`, `{"\u00e9":1}`, `{"a":tru}`, `{"a":-}`, `{"a"}`, `{"a":}`, `{,}`,
	`{"a":` + strings.Repeat("[", MaxJSONDepth-1) + strings.Repeat("]", MaxJSONDepth-1) + `}`,
	`{"a":` + strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth) + `}`,
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
	checkStateObject(t, text, want, wantOK)
}

// checkStateObject holds scanObject to the oracle: an object exactly when
// encoding/json decodes text to one, and each key reads (last duplicate
// winning) as the decoded map's value.
func checkStateObject(t *testing.T, text string, want any, wantOK bool) {
	t.Helper()
	wantMap, isMap := want.(map[string]any)
	fields, ok := scanObject(text, nil)
	if ok != (wantOK && isMap) {
		t.Fatalf("scanObject(%q) ok = %v; encoding/json: %#v, %v", text, ok, want, wantOK)
	}
	if !ok {
		return
	}
	obj := jsonObject{fields: fields}
	got := map[string]any{}
	for _, f := range fields {
		raw, _ := obj.raw(f.key)
		v, vok := refStateJSON(raw)
		if !vok {
			t.Fatalf("scanObject(%q): member %q is %q, not one JSON value", text, f.key, raw)
		}
		got[f.key] = v
		if s, sok := obj.str(f.key); sok != (reflect.TypeOf(v) == reflect.TypeOf("")) || (sok && s != v) {
			t.Errorf("scanObject(%q).str(%q) = %q, %v; encoding/json: %#v", text, f.key, s, sok, v)
		}
		if n, isNum := v.(json.Number); isNum {
			wf, werr := n.Float64()
			gf, gok := obj.num(f.key)
			if gok != (werr == nil && !math.IsInf(wf, 0)) || (gok && gf != wf) {
				t.Errorf("scanObject(%q).num(%q) = %v, %v; json.Number: %v, %v", text, f.key, gf, gok, wf, werr)
			}
		} else if _, gok := obj.num(f.key); gok {
			t.Errorf("scanObject(%q).num(%q) took %#v as a number", text, f.key, v)
		}
		if m, mok := obj.object(f.key); mok != (reflect.TypeOf(v) == reflect.TypeOf(map[string]any{})) || (mok && !reflect.DeepEqual(m, v)) {
			t.Errorf("scanObject(%q).object(%q) = %#v, %v; encoding/json: %#v", text, f.key, m, mok, v)
		}
	}
	if !reflect.DeepEqual(got, wantMap) {
		t.Errorf("scanObject(%q) reads as %#v; encoding/json: %#v", text, got, wantMap)
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
