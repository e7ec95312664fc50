package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenEndpoint answers every request with one canned answer and records
// what the client sent.
type tokenEndpoint struct {
	srv                        *httptest.Server
	mu                         sync.Mutex
	status                     int
	contentType, body          string
	calls                      int
	lastAuth, lastBody, lastCT string
}

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	e := &tokenEndpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		defer e.mu.Unlock()
		e.calls++
		e.lastAuth, e.lastBody, e.lastCT = r.Header.Get("Authorization"), string(b), r.Header.Get("Content-Type")
		if e.contentType != "" {
			w.Header().Set("Content-Type", e.contentType)
		}
		w.WriteHeader(e.status)
		io.WriteString(w, e.body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) answer(status int, contentType, body string) {
	e.mu.Lock()
	e.status, e.contentType, e.body = status, contentType, body
	e.mu.Unlock()
}

func (e *tokenEndpoint) sent() (auth, body, ct string, calls int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastAuth, e.lastBody, e.lastCT, e.calls
}

// The hub's client-credentials grant is held to golang.org/x/oauth2's, an
// independent client it replaced: same request, same token, same verdict
// on each answer, and the same answers count as "needs re-link".
func TestPushTokenAgreesWithTheOAuth2Library(t *testing.T) {
	const js, form = "application/json", "application/x-www-form-urlencoded"
	cases := []struct {
		name              string
		status            int
		contentType, body string
	}{
		{"bearer with expiry", 200, js, `{"access_token":"t1","token_type":"Bearer","expires_in":3600}`},
		{"lower-case type, expiry as string", 200, js, `{"access_token":"t2","token_type":"bearer","expires_in":"120"}`},
		{"no type, no expiry", 200, js, `{"access_token":"t3"}`},
		{"mac type", 200, js, `{"access_token":"t4","token_type":"mac"}`},
		{"other type kept", 200, js, `{"access_token":"t5","token_type":"DPoP"}`},
		{"huge expiry", 200, js, `{"access_token":"t6","expires_in":99999999999}`},
		{"null expiry", 200, js, `{"access_token":"t7","expires_in":null}`},
		{"form answer", 200, form, `access_token=t8&token_type=bearer&expires_in=60`},
		{"text/plain form answer", 200, "text/plain; charset=utf-8", `access_token=t9`},
		{"no access_token", 200, js, `{"token_type":"Bearer"}`},
		{"not JSON", 200, js, `<html>`},
		{"fractional expiry", 200, js, `{"access_token":"t10","expires_in":3600.5}`},
		{"invalid_client", 400, js, `{"error":"invalid_client"}`},
		{"invalid_grant", 400, js, `{"error":"invalid_grant","error_description":"revoked"}`},
		{"unauthorized_client", 400, js, `{"error":"unauthorized_client"}`},
		{"401 without body", 401, "", ``},
		{"invalid_scope is not a re-link", 400, js, `{"error":"invalid_scope"}`},
		{"server error", 500, js, `{"error":"server_error"}`},
		{"503 page", 503, "text/html", `<h1>down</h1>`},
		{"form error", 400, form, `error=invalid_client`},
	}
	ep := newTokenEndpoint(t)
	p := Partner{TokenURL: ep.srv.URL + "/token", NotifyClientID: "hub:1/é", NotifyClientSecret: "s e&c=r+t"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep.answer(tc.status, tc.contentType, tc.body)
			ctx := context.Background()

			cfg := &clientcredentials.Config{ClientID: p.NotifyClientID, ClientSecret: p.NotifyClientSecret,
				TokenURL: p.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}
			libTok, libErr := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, ep.srv.Client()))
			libAuth, libBody, libCT, _ := ep.sent()

			h, err := newPushAuth(p, ep.srv.Client()).header(ctx)
			auth, body, ct, _ := ep.sent()

			if auth != libAuth || body != libBody || ct != libCT {
				t.Errorf("request: Authorization %q, body %q, type %q; the library sent %q, %q, %q", auth, body, ct, libAuth, libBody, libCT)
			}
			if (err != nil) != (libErr != nil) {
				t.Fatalf("error %v; the library's %v", err, libErr)
			}
			if err != nil {
				var re *oauth2.RetrieveError
				libRelink := errors.As(libErr, &re) && (re.ErrorCode == "invalid_client" || re.ErrorCode == "invalid_grant" ||
					re.ErrorCode == "unauthorized_client" || re.Response.StatusCode == http.StatusUnauthorized)
				if errors.Is(err, errRelink) != libRelink {
					t.Errorf("needs re-link: %v (%v); the library's answer says %v (%v)", errors.Is(err, errRelink), err, libRelink, libErr)
				}
				return
			}
			if want := libTok.Type() + " " + libTok.AccessToken; h != want {
				t.Errorf("Authorization %q, the library's %q", h, want)
			}
		})
	}
}

func TestPushTokenIsCachedUntilNearItsExpiryOrInvalidated(t *testing.T) {
	ep := newTokenEndpoint(t)
	a := newPushAuth(Partner{TokenURL: ep.srv.URL, NotifyClientID: "hub", NotifyClientSecret: "s"}, ep.srv.Client())
	ctx := context.Background()
	calls := func() int { _, _, _, n := ep.sent(); return n }

	ep.answer(200, "application/json", `{"access_token":"long","expires_in":3600}`)
	for range 3 {
		if h, err := a.header(ctx); err != nil || h != "Bearer long" {
			t.Fatalf("header %q, %v", h, err)
		}
	}
	if n := calls(); n != 1 {
		t.Errorf("%d token requests for 3 pushes with a valid token, want 1", n)
	}
	a.invalidate()
	ep.answer(200, "application/json", `{"access_token":"short","expires_in":5}`)
	for range 2 {
		if h, err := a.header(ctx); err != nil || h != "Bearer short" {
			t.Fatalf("header %q, %v", h, err)
		}
	}
	// Invalidated: fetched again; then within tokenEarly of its expiry: again.
	if n := calls(); n != 3 {
		t.Errorf("%d token requests, want 3 (first, after invalidate, near expiry)", n)
	}
	if tokenEarly < 5*time.Second {
		t.Fatalf("tokenEarly %v: the case above assumes a 5 s token counts as expiring", tokenEarly)
	}
}

func TestPushTokenAnswerIsBounded(t *testing.T) {
	ep := newTokenEndpoint(t)
	a := newPushAuth(Partner{TokenURL: ep.srv.URL, NotifyClientID: "hub", NotifyClientSecret: "s"}, ep.srv.Client())
	big := `{"access_token":"` + string(make([]byte, maxTokenAnswer)) + `"}`
	ep.answer(200, "application/json", big)
	if _, err := a.header(context.Background()); err == nil {
		t.Fatal("an answer past maxTokenAnswer was accepted")
	}
}
