package shelly

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// RFC 7616 §3.9.1, the SHA-256 example.
const (
	rfcRealm    = "http-auth@example.org"
	rfcNonce    = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
	rfcCnonce   = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	rfcOpaque   = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
	rfcResponse = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
)

func TestDigestResponseMatchesRFC7616Example(t *testing.T) {
	got := digestResponse("Mufasa", "Circle of Life", rfcRealm, "GET", "/dir/index.html", rfcNonce, "00000001", rfcCnonce, "auth")
	if got != rfcResponse {
		t.Fatalf("response %s, RFC 7616 §3.9.1 says %s", got, rfcResponse)
	}
}

// The client answers the RFC's challenge (qop offering auth and auth-int)
// with the RFC's answer once its cnonce is the RFC's.
func TestAuthorizationAnswersTheRFC7616Challenge(t *testing.T) {
	ch, err := parseChallenge(`Digest realm="` + rfcRealm + `", qop="auth, auth-int", algorithm=SHA-256, nonce="` +
		rfcNonce + `", opaque="` + rfcOpaque + `"`)
	if err != nil {
		t.Fatal(err)
	}
	h := ch.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, rfcCnonce)
	for _, want := range []string{`username="Mufasa"`, `realm="` + rfcRealm + `"`, `nonce="` + rfcNonce + `"`,
		`uri="/dir/index.html"`, `algorithm=SHA-256`, `response="` + rfcResponse + `"`, `qop=auth,`, `nc=00000001`,
		`cnonce="` + rfcCnonce + `"`, `opaque="` + rfcOpaque + `"`} {
		if !strings.Contains(h, want) {
			t.Errorf("Authorization lacks %s:\n%s", want, h)
		}
	}
}

// A client's cnonce source is used for every answer, with nc counting up.
func TestClientUsesItsCnonceSource(t *testing.T) {
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		a := r.Header.Get("Authorization")
		if a == "" {
			w.Header().Set("WWW-Authenticate", `Digest qop="auth", realm="shellyplus1-x", nonce="60dc59c6", algorithm=SHA-256`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		auths = append(auths, a)
		w.Write([]byte(`{}`)) //nolint:errcheck // test server
	}))
	defer srv.Close()
	n := 0
	c := &client{http: srv.Client(), password: "pw", cnonce: func() string { n++; return "pinned" + string(rune('0'+n)) }}
	for range 2 {
		if _, err := c.call(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "Switch.GetStatus", nil); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auths) != 2 {
		t.Fatalf("%d authorized requests", len(auths))
	}
	for i, want := range []struct{ nc, cnonce string }{{"00000001", "pinned1"}, {"00000002", "pinned2"}} {
		if !strings.Contains(auths[i], `nc=`+want.nc+`, cnonce="`+want.cnonce+`"`) {
			t.Errorf("request %d: want nc %s and cnonce %s in %s", i+1, want.nc, want.cnonce, auths[i])
		}
		resp := digestResponse(User, "pw", "shellyplus1-x", "GET", "/rpc/Switch.GetStatus", "60dc59c6", want.nc, want.cnonce, "auth")
		if !strings.Contains(auths[i], `response="`+resp+`"`) {
			t.Errorf("request %d: response is not the one for its cnonce: %s", i+1, auths[i])
		}
	}
}
