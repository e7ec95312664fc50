package oauth

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// A household re-consents with fewer scopes: the grant's scopes then bound
// the earlier access token at its next use and every later refresh.
func TestNarrowedGrantBoundsEarlierTokens(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	st, m := e.exchange(code, "")
	if st != 200 || !strings.Contains(str(m, "scope"), ScopeDevicesControl) {
		t.Fatalf("exchange: %d %v", st, m)
	}
	p, err := e.auth(str(m, "access_token"))
	if err != nil || !p.HasScope(ScopeDevicesControl) {
		t.Fatalf("before narrowing: %+v %v", p, err)
	}
	if _, err := e.srv.st.upsertGrant(context.Background(), e.userID, e.clientID, []string{ScopeDevicesRead},
		Exposure{Devices: map[string]bool{"lamp-1": true}}); err != nil {
		t.Fatal(err)
	}
	p, err = e.auth(str(m, "access_token"))
	if err != nil || p.HasScope(ScopeDevicesControl) || !p.HasScope(ScopeDevicesRead) {
		t.Fatalf("earlier access token after narrowing: %+v %v", p, err)
	}
	st, r := e.refresh(str(m, "refresh_token"))
	if st != 200 || str(r, "scope") != ScopeDevicesRead {
		t.Fatalf("refresh after narrowing: %d %v", st, r)
	}
	// Asking for the withdrawn scope explicitly is refused too.
	st, r2 := e.tokenReq(e.clientID, e.secret, map[string][]string{"grant_type": {"refresh_token"},
		"refresh_token": {str(r, "refresh_token")}, "scope": {ScopeDevicesControl}})
	wantOAuthError(t, st, r2, 400, "invalid_scope")
}

// An attacker's wrong PKCE verifier burns an intercepted code; the
// legitimate client's exchange then fails with invalid_grant and the
// household's existing link keeps working.
func TestBurntCodeLeavesLinkWorking(t *testing.T) {
	e := newEnv(t)
	first, _ := e.code("")
	_, m := e.exchange(first, "")
	verifier := oauth2.GenerateVerifier()
	code, _ := e.code(oauth2.S256ChallengeFromVerifier(verifier))
	st, a := e.exchange(code, oauth2.GenerateVerifier()) // the attacker
	wantOAuthError(t, st, a, 400, "invalid_grant")
	st, b := e.exchange(code, verifier) // the legitimate client, too late
	wantOAuthError(t, st, b, 400, "invalid_grant")
	if _, err := e.auth(str(m, "access_token")); err != nil {
		t.Fatalf("existing access token after a burnt code: %v", err)
	}
	if st, r := e.refresh(str(m, "refresh_token")); st != 200 {
		t.Fatalf("existing refresh token after a burnt code: %d %v", st, r)
	}
}

// A registration naming a special-purpose address literal (callback host
// or notify token URL) is refused before anything is stored, unless the
// partner is explicitly allowed private addresses.
func TestRegistrationRefusesSpecialPurposeLiterals(t *testing.T) {
	base := NewPartner{Name: "P", RedirectURIs: []string{"https://p.example/cb"}}
	for _, tc := range []struct {
		name   string
		modify func(*NewPartner)
		ok     bool
	}{
		{"public name", func(n *NewPartner) { n.CallbackHosts = []string{"notify.p.example"} }, true},
		{"public literal", func(n *NewPartner) { n.CallbackHosts = []string{"8.8.8.8"} }, true},
		{"benchmarking literal", func(n *NewPartner) { n.CallbackHosts = []string{"198.18.0.1"} }, false},
		{"this-network literal", func(n *NewPartner) { n.CallbackHosts = []string{"0.1.2.3"} }, false},
		{"DS-Lite literal", func(n *NewPartner) { n.CallbackHosts = []string{"192.0.0.1"} }, false},
		{"reserved literal", func(n *NewPartner) { n.CallbackHosts = []string{"240.0.0.1"} }, false},
		{"broadcast literal", func(n *NewPartner) { n.CallbackHosts = []string{"255.255.255.255"} }, false},
		{"private allowed", func(n *NewPartner) { n.CallbackHosts = []string{"192.168.1.2"}; n.AllowPrivateCallback = true }, true},
		{"token URL on a special address", func(n *NewPartner) {
			n.NotifyTokenURL, n.NotifyClientID, n.NotifyClientSecret = "https://198.18.0.1/token", "hub", "secret"
		}, false},
		{"token URL on a v4-compatible address", func(n *NewPartner) {
			n.NotifyTokenURL, n.NotifyClientID, n.NotifyClientSecret = "https://[::c612:1]/token", "hub", "secret"
		}, false},
	} {
		n := base
		tc.modify(&n)
		if err := n.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
