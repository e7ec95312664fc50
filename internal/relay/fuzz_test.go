package relay

import (
	"strings"
	"testing"
)

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"20000-29999", "20001,20005-20010", "1024", "65535-1024", ",", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePorts(s)
		if err != nil {
			return
		}
		port := p.first(map[int]bool{})
		if port < 1024 || port > 65535 || !p.Contains(port) {
			t.Fatalf("%q: first free port %d", s, port)
		}
	})
}

func FuzzLoopbackListeners(f *testing.F) {
	f.Add(procNetTCP)
	f.Add("header\n 0: 0100007F:FFFF 0:0 0A a b c d e 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := loopbackListeners(strings.NewReader(s))
		for p := range got {
			if p < 0 || p > 65535 {
				t.Fatalf("port %d", p)
			}
		}
	})
}

func FuzzParseLifetime(f *testing.F) {
	for _, s := range []string{"30d", "12h", "1s", "366d", "-1d", "1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseLifetime(s)
		if err == nil && (d <= 0 || d > MaxLifetime) {
			t.Fatalf("%q -> %v", s, d)
		}
	})
}
