package oauth

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// Every change to a link made through the agent applies to the very next
// /cic/v1 call, although the bearer check answers from the grant cache: the
// test clock stands still, so only the invalidation can make the change
// visible.
func TestLinkChangesApplyToTheNextCallWithAWarmCache(t *testing.T) {
	ctx := context.Background()
	lamp := &device.Device{ID: "lamp-1", Category: device.CategoryLight}
	tests := []struct {
		name   string
		change func(e *env, p Principal, m map[string]any)
		// check gets the next call's outcome.
		check func(t *testing.T, p Principal, err error, lampExposed bool)
	}{
		{"revocation at /oauth2/revoke with the access token", func(e *env, _ Principal, m map[string]any) {
			if st, _ := e.postRevoke(url.Values{"token": {str(m, "access_token")}}); st != 200 {
				e.t.Fatalf("revoke: %d", st)
			}
		}, wantRevoked},
		{"CIC.Account/Unlink (RevokeGrant)", func(e *env, p Principal, _ map[string]any) {
			if err := e.srv.RevokeGrant(ctx, p.GrantID, "partner unlinked"); err != nil {
				e.t.Fatal(err)
			}
		}, wantRevoked},
		{"partner removed by the owner", func(e *env, _ Principal, _ map[string]any) {
			if err := e.srv.RemovePartner(ctx, e.clientID); err != nil {
				e.t.Fatal(err)
			}
		}, wantRevoked},
		{"refresh token reuse detected", func(e *env, _ Principal, m map[string]any) {
			r0 := str(m, "refresh_token")
			_, m1 := e.refresh(r0)
			e.refresh(str(m1, "refresh_token"))
			if st, _ := e.refresh(r0); st != 400 {
				e.t.Fatalf("reuse: %d", st)
			}
		}, wantRevoked},
		{"re-consent with fewer scopes", func(e *env, _ Principal, _ map[string]any) {
			if _, err := e.srv.st.upsertGrant(ctx, e.userID, e.clientID, []string{ScopeDevicesRead},
				Exposure{Devices: map[string]bool{"lamp-1": true}}); err != nil {
				e.t.Fatal(err)
			}
		}, func(t *testing.T, p Principal, err error, _ bool) {
			if err != nil || p.HasScope(ScopeDevicesControl) || !p.HasScope(ScopeDevicesRead) {
				t.Fatalf("after narrowing: %+v %v", p, err)
			}
		}},
		{"owner stops sharing the lamp", func(e *env, p Principal, _ map[string]any) {
			if err := e.srv.st.SetExposure(ctx, e.userID, p.GrantID, Exposure{Devices: map[string]bool{"lamp-1": false}}); err != nil {
				e.t.Fatal(err)
			}
		}, func(t *testing.T, _ Principal, err error, lampExposed bool) {
			if err != nil || lampExposed {
				t.Fatalf("after unsharing: lamp exposed %v, err %v", lampExposed, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.t = t
			code, _ := e.code("")
			_, m := e.exchange(code, "")
			access := str(m, "access_token")
			// Warm: the token verified, the grant and its exposure cached.
			p, err := e.auth(access)
			if err != nil || !p.HasScope(ScopeDevicesControl) {
				t.Fatalf("before: %+v %v", p, err)
			}
			if ok, err := e.srv.Exposed(ctx, p, lamp); err != nil || !ok {
				t.Fatalf("lamp before: %v %v", ok, err)
			}
			tc.change(e, p, m)
			p2, err := e.auth(access)
			exposed, _ := e.srv.Exposed(ctx, p, lamp)
			tc.check(t, p2, err, exposed)
		})
	}
}

func wantRevoked(t *testing.T, _ Principal, err error, lampExposed bool) {
	t.Helper()
	if device.CodeOf(err) != device.CodeInvalidAccessToken {
		t.Fatalf("next call after revocation: %v, want INVALID_ACCESS_TOKEN", err)
	}
	if lampExposed {
		t.Fatal("a revoked grant still exposes the lamp")
	}
}

// A write by another process (the CLI with the agent stopped, a repair by
// hand) does not pass through the agent's store, so it cannot invalidate
// the cache: it is seen once the grant was re-read, grantRecheck after it
// was loaded, in the background. The first call after the write answers
// from the cache, which also shows the check does not read the database
// per call.
func TestGrantWrittenByAnotherProcessSeenWithinRecheck(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	_, m := e.exchange(code, "")
	access := str(m, "access_token")
	p, err := e.auth(access)
	if err != nil {
		t.Fatal(err)
	}
	other := NewStore(e.st.DB()) // another process's view of the same database
	if _, err := other.RevokeGrant(context.Background(), p.GrantID, "by hand"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth(access); err != nil {
		t.Fatalf("cached grant within the recheck interval: %v", err)
	}
	e.clk.Add(grantRecheck)
	// This call starts the re-read and still answers from the cache; the
	// calls after it see the revocation.
	e.auth(access) //nolint:errcheck // either answer is right here
	testutil.Eventually(t, 5*time.Second, "revocation by another process seen", func() bool {
		_, err := e.auth(access)
		return device.CodeOf(err) == device.CodeInvalidAccessToken
	})
}

// A grant loaded while a change commits is never served from the cache:
// its generation is the one read before loading.
func TestGrantLoadedDuringAChangeIsNotCached(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	_, m := e.exchange(code, "")
	p, err := e.auth(str(m, "access_token"))
	if err != nil {
		t.Fatal(err)
	}
	// Simulate the interleaving: an entry stored with the generation before
	// a revocation that has committed since.
	stale := &grantState{active: true, clientID: p.ClientID, userID: p.UserID, scopes: defaultScope,
		gen: e.srv.st.generation(), loaded: e.clk.Now()}
	if _, err := e.srv.st.RevokeGrant(context.Background(), p.GrantID, "unlinked"); err != nil {
		t.Fatal(err)
	}
	e.srv.grantMu.Lock()
	e.srv.grants[p.GrantID] = stale
	e.srv.grantMu.Unlock()
	if _, err := e.auth(str(m, "access_token")); device.CodeOf(err) != device.CodeInvalidAccessToken {
		t.Fatalf("stale entry used: %v", err)
	}
}
