package oauth

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

// FuzzTokenForm feeds the token endpoint's parser arbitrary content types,
// Authorization headers and bodies: it must never panic, and a parsed
// request always names a client.
func FuzzTokenForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "Basic cC0xOnNlY3JldA==", []byte("grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fp.example%2Fcb"))
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "", []byte("grant_type=refresh_token&refresh_token=x&client_id=p-1&client_secret=s"))
	f.Fuzz(func(t *testing.T, contentType, authorization string, body []byte) {
		tf, oe := parseTokenForm(contentType, authorization, body)
		if (tf == nil) == (oe == nil) {
			t.Fatalf("want exactly one of form and error: %v %v", tf, oe)
		}
		if tf != nil && tf.clientID == "" {
			t.Fatal("parsed request without client")
		}
		if oe != nil && (oe.Code == "" || oe.Status < 400) {
			t.Fatalf("bad error %+v", oe)
		}
	})
}

// FuzzAuthenticate feeds Authenticate arbitrary Authorization headers: it
// must never panic and must fail with one of the two token codes.
func FuzzAuthenticate(f *testing.F) {
	f.Add("Bearer eyJhbGciOiJFZERTQSIsImtpZCI6IngiLCJ0eXAiOiJKV1QifQ.eyJhdWQiOlsicCJdLCJleHAiOjEsImdpZCI6ImciLCJzdWIiOiJ1In0.c2ln")
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.")
	dir := f.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Options{Store: NewStore(st.DB()), DataDir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("POST", "/cic/v1", nil)
		r.Header["Authorization"] = []string{header}
		_, err := srv.Authenticate(context.Background(), r)
		if c := device.CodeOf(err); c != device.CodeInvalidAccessToken && c != device.CodeTokenExpired {
			t.Fatalf("Authenticate(%q) = %v", header, err)
		}
	})
}

func TestKeyAndDatabaseFilesArePrivate(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{KeyFileName, store.FileName} {
		fi, err := os.Stat(filepath.Join(e.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	// A key file others can read is refused, not used.
	if err := os.Chmod(filepath.Join(e.dir, KeyFileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateKey(e.dir); err == nil {
		t.Fatal("a world-readable key was accepted")
	}
}

func TestSigningKeySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	a, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.kid != b.kid || !a.pub.Equal(b.pub) {
		t.Fatal("key changed across loads")
	}
}
