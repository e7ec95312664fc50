package mdns

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseTXTFollowsDNSSDRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want map[string]string
	}{
		{"key=value pairs", []string{"id=hub-1", "ver=1.0"}, map[string]string{"id": "hub-1", "ver": "1.0"}},
		{"keys are case-insensitive and the first wins", []string{"Mac=aa", "MAC=bb"}, map[string]string{"mac": "aa"}},
		{"a bare key is a boolean", []string{"secure"}, map[string]string{"secure": ""}},
		{"an empty key is ignored", []string{"=x", ""}, map[string]string{}},
		{"values may contain =", []string{"q=a=b"}, map[string]string{"q": "a=b"}},
		{"control bytes and bad UTF-8 are replaced", []string{"n=a\x1b[0m\xffz"}, map[string]string{"n": "a\uFFFD[0m\uFFFDz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := ParseTXT(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// FuzzParseTXT: whatever a responder sends, the kept pairs are valid UTF-8
// without control characters and within the bounds.
func FuzzParseTXT(f *testing.F) {
	f.Add("id=hub-1\x00ver=1.0\x00api=/cic/v1")
	f.Add("mac=a8032ab1c2d3")
	f.Fuzz(func(t *testing.T, joined string) {
		pairs, _ := ParseTXT(strings.Split(joined, "\x00"))
		size := 0
		for k, v := range pairs {
			size += len(k) + len(v)
			for _, s := range []string{k, v} {
				if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					t.Fatalf("unsafe %q", s)
				}
			}
		}
		if len(pairs) > MaxTXTEntries || size > MaxTXTBytes {
			t.Fatalf("%d pairs, %d bytes", len(pairs), size)
		}
		_ = unescapeName(joined)
	})
}
