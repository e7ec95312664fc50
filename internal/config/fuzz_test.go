package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// FuzzLoad feeds arbitrary file contents to the loader. It must never panic,
// whatever it accepts must pass Validate, and String of an accepted config
// must load back to the same (redacted) config.
//
// The seeds are in testdata/fuzz/FuzzLoad and are kept small on purpose:
// the fuzzer minimizes new inputs in time quadratic in their size. The file
// is handed over in memory (build is Load after os.ReadFile) because two
// file writes per run made a run take up to 100 ms on a busy machine;
// TestFuzzSeedsLoadFromFile covers the file path for the seeds.
func FuzzLoad(f *testing.F) {
	const path = "hubagent.toml"
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := build(path, data, nil, Overrides{})
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a config that Validate rejects: %v", err)
		}
		want := c.Redacted()
		back, err := build(path, []byte(c.String()), nil, Overrides{})
		if err != nil {
			t.Fatalf("String output does not load: %v\n%s", err, c.String())
		}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("String round trip:\n%v\nwant\n%v", back, want)
		}
	})
}

// TestFuzzSeedsLoadFromFile runs the seed corpus through Load with a real
// file and checks it agrees with the in-memory path the fuzzer uses.
func TestFuzzSeedsLoadFromFile(t *testing.T) {
	seeds, err := filepath.Glob("testdata/fuzz/FuzzLoad/*")
	if err != nil || len(seeds) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, seed := range seeds {
		t.Run(filepath.Base(seed), func(t *testing.T) {
			data := readCorpusEntry(t, seed)
			path := writeConfig(t, string(data))
			c, err := Load(path, nil, Overrides{})
			mc, merr := build(path, data, nil, Overrides{})
			if (err == nil) != (merr == nil) || err != nil && err.Error() != merr.Error() {
				t.Fatalf("Load: %v; in memory: %v", err, merr)
			}
			if !reflect.DeepEqual(c, mc) {
				t.Errorf("Load and in-memory results differ:\n%v\n%v", c, mc)
			}
		})
	}
}

// readCorpusEntry decodes a one-value "go test fuzz v1" []byte file.
func readCorpusEntry(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	const header = "go test fuzz v1\n[]byte("
	s := string(raw)
	if len(s) < len(header)+2 || s[:len(header)] != header {
		t.Fatalf("%s: not a []byte corpus entry", name)
	}
	body := s[len(header):]
	for len(body) > 0 && (body[len(body)-1] == '\n' || body[len(body)-1] == ')') {
		body = body[:len(body)-1]
	}
	v, err := strconv.Unquote(body)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(v)
}
