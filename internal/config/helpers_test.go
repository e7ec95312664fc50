package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes a TOML document to a fresh temporary file.
func writeConfig(t testing.TB, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hubagent.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadDoc loads doc as a file with no environment and no flags.
func loadDoc(t testing.TB, doc string) (*Config, string, error) {
	t.Helper()
	path := writeConfig(t, doc)
	c, err := Load(path, nil, Overrides{})
	return c, path, err
}

// wantErrLine fails unless err has a line equal to want.
func wantErrLine(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if line == want {
			return
		}
	}
	t.Fatalf("error:\n%v\nwant a line:\n%s", err, want)
}
