package oauth

import (
	"context"

	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestStatusPageChangesExposureAndUnlinks(t *testing.T) {
	e := newEnv(t)
	e.srv.opts.Sections = append(e.srv.opts.Sections, Section{ID: "tunnel", Title: "Remote access",
		Render: func(context.Context, StatusContext) (HTML, error) { return "<p>tunnel up</p>", nil }})
	var unlinked []Grant
	e.srv.OnRevoke(func(_ context.Context, g Grant) { unlinked = append(unlinked, g) })
	code, _ := e.code("") // lamp + plug
	_, m := e.exchange(code, "")
	p, err := e.auth(str(m, "access_token"))
	if err != nil {
		t.Fatal(err)
	}

	c := e.browser()
	st, body, csrf := e.page(c, e.base+"/status")
	if st != 200 || !strings.Contains(body, `action="/signin"`) {
		t.Fatalf("status without session: %d\n%s", st, body)
	}
	resp, _ := e.post(c, e.base+"/signin", url.Values{"username": {testUser}, "password": {testPassword}, "csrf_token": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	st, body, csrf = e.page(c, e.base+"/status")
	for _, want := range []string{"Shared with Voice Cloud", "Living room lamp", "Remote access", "tunnel up", `value="lamp-1" checked`} {
		if !strings.Contains(body, want) {
			t.Fatalf("status page (%d) lacks %q:\n%s", st, want, body)
		}
	}
	// Share only the lock now.
	form := url.Values{"grant_id": {p.GrantID}, "device": {"lock-1"}, "csrf_token": {csrf}}
	if resp, _ := e.post(c, e.base+"/status/exposure", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save exposure: %d", resp.StatusCode)
	}
	for id, want := range map[string]bool{"lamp-1": false, "plug-1": false, "lock-1": true} {
		d, _ := e.hub.Device(id)
		if got, _ := e.srv.Exposed(context.Background(), p, d); got != want {
			t.Errorf("%s exposed %v, want %v", id, got, want)
		}
	}
	// Without the CSRF token nothing changes.
	form.Del("csrf_token")
	if resp, _ := e.post(c, e.base+"/status/unlink", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unlink without csrf: %d", resp.StatusCode)
	}
	form.Set("csrf_token", csrf)
	if resp, _ := e.post(c, e.base+"/status/unlink", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unlink: %d", resp.StatusCode)
	}
	if _, err := e.auth(str(m, "access_token")); err == nil || len(unlinked) != 1 {
		t.Fatalf("after unlink: auth err %v, hooks %d", err, len(unlinked))
	}
}
