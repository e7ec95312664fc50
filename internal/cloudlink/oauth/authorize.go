package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// maxPageForm bounds the sign-in and consent form bodies.
const maxPageForm = 64 << 10

// authorizeGet serves GET /oauth2/authorize: the sign-in page, or the
// consent page for a signed-in browser.
func (s *Server) authorizeGet(w http.ResponseWriter, r *http.Request) {
	a, ae := s.parseAuthRequest(r.Context(), r.URL.Query())
	if ae != nil {
		s.authFailed(w, r, a, ae)
		return
	}
	if u := s.signedIn(w, r, a, ""); u != nil {
		s.renderConsent(w, r, a, u)
	}
}

// signedIn returns the browser's signed-in user. Without one it answers
// with the sign-in page for a, saying why when reason is set, and returns
// nil, as it does after answering a session error.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, a *authRequest, reason string) *User {
	u, err := s.sessionUser(r)
	if err != nil {
		s.internalError(w, "authorize: session", err)
		return nil
	}
	if u == nil {
		s.pages.render(w, http.StatusOK, signinPage{Partner: a.partner.Name, Action: "/oauth2/authorize",
			Hidden: hiddenFields(a.params()), CSRF: s.csrfToken(w, r), Error: reason})
	}
	return u
}

// authorizePost serves POST /oauth2/authorize: the sign-in form (username,
// password) or the consent form (decision).
func (s *Server) authorizePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil {
		s.pages.render(w, http.StatusBadRequest, errorPage{"Bad request", "The form could not be read."})
		return
	}
	a, ae := s.parseAuthRequest(r.Context(), r.PostForm)
	if ae != nil {
		s.authFailed(w, r, a, ae)
		return
	}
	if !s.checkCSRF(r) {
		s.pages.render(w, http.StatusForbidden, errorPage{"Form expired",
			"This form was not sent by this page (or it is too old). Go back to the partner's app and start again."})
		return
	}
	if !r.PostForm.Has("decision") {
		if _, ok := s.signIn(w, r, signinPage{Partner: a.partner.Name, Action: "/oauth2/authorize", Hidden: hiddenFields(a.params())}); ok {
			// Post/redirect/get: reloading the consent page must not resend
			// the password.
			http.Redirect(w, r, "/oauth2/authorize?"+a.params().Encode(), http.StatusSeeOther)
		}
		return
	}
	u := s.signedIn(w, r, a, "Your sign-in has expired. Sign in again.")
	if u == nil {
		return
	}
	switch r.PostForm.Get("decision") {
	case "approve":
		s.approve(w, r, a, u)
	case "deny":
		s.log.Info("link denied", "client", a.ClientID, "user", u.ID)
		http.Redirect(w, r, a.redirectURL(s.issuer(r), url.Values{"error": {"access_denied"},
			"error_description": {"the household denied access"}}), http.StatusSeeOther)
	default:
		s.pages.render(w, http.StatusBadRequest, errorPage{"Bad request", "Unknown decision."})
	}
}

// signIn checks a posted username and password under the throttle, starts
// a session on success, and otherwise renders the form again with page's
// fields.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, page signinPage) (*User, bool) {
	name, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	addr := s.opts.ClientIP(r)
	page.User = name
	if d := s.throttle.blocked(name, addr); d > 0 {
		s.log.Warn("sign-in throttled", "user", name, "addr", addr)
		page.CSRF = s.csrfToken(w, r)
		page.Error = fmt.Sprintf("Too many failed sign-ins. Try again in %d minutes.", int(d.Round(time.Minute)/time.Minute)+1)
		w.Header().Set("Retry-After", fmt.Sprint(int(d.Seconds())+1))
		s.pages.render(w, http.StatusTooManyRequests, page)
		return nil, false
	}
	u, ok, err := s.st.verifyPassword(r.Context(), name, pw)
	if err != nil {
		s.internalError(w, "sign-in", err)
		return nil, false
	}
	if !ok {
		s.throttle.failed(name, addr)
		s.log.Info("sign-in failed", "user", name, "addr", addr)
		page.CSRF = s.csrfToken(w, r)
		page.Error = "Wrong user name or password."
		s.pages.render(w, http.StatusUnauthorized, page)
		return nil, false
	}
	s.throttle.succeeded(name)
	if err := s.newSession(r.Context(), w, u); err != nil {
		s.internalError(w, "sign-in", err)
		return nil, false
	}
	s.log.Info("signed in", "user", u.Name, "addr", addr)
	return u, true
}

// renderConsent shows the consent page: every device with a checkbox,
// ticked by default except sensitive ones (users-ask #1); a re-link starts
// from the current choice.
func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, a *authRequest, u *User) {
	prev, err := s.currentDecisions(r.Context(), u.ID, a.ClientID)
	if err != nil {
		s.internalError(w, "consent", err)
		return
	}
	var ds []consentDevice
	for _, d := range s.devices() {
		c := consentDevice{ID: d.ID, Name: d.Name, Category: string(d.Category), Room: d.Room,
			Sensitive: d.Category.Sensitive(), Checked: !d.Category.Sensitive()}
		if on, ok := prev[d.ID]; ok {
			c.Checked = on
		}
		ds = append(ds, c)
	}
	s.pages.render(w, http.StatusOK, consentPage{Partner: a.partner.Name, User: u.Name, Scopes: a.Scopes,
		Devices: ds, Hidden: hiddenFields(a.params()), CSRF: s.csrfToken(w, r)})
}

// currentDecisions returns the device choices of the user's active grant
// with the partner (nil when none).
func (s *Server) currentDecisions(ctx context.Context, userID, clientID string) (map[string]bool, error) {
	gs, err := s.st.UserGrants(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if g.ClientID == clientID {
			return g.Decisions, nil
		}
	}
	return nil, nil
}

// devices lists the hub's devices by name.
func (s *Server) devices() []*device.Device {
	if s.opts.Hub == nil {
		return nil
	}
	ds := s.opts.Hub.Devices()
	slices.SortFunc(ds, func(a, b *device.Device) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ds
}

// approve records the consent and sends the browser back with a code.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, a *authRequest, u *User) {
	chosen := r.PostForm["device"]
	e := Exposure{Devices: map[string]bool{}, ShareNew: r.PostForm.Get("share_new") != ""}
	// Every device the owner saw gets a row, ticked or not, so "added
	// later" means exactly the devices the owner never decided on.
	for _, d := range s.devices() {
		e.Devices[d.ID] = slices.Contains(chosen, d.ID)
	}
	grantID, err := s.st.upsertGrant(r.Context(), u.ID, a.ClientID, a.Scopes, e)
	if err != nil {
		s.internalError(w, "consent", err)
		return
	}
	code := newSecret()
	now := s.now()
	if _, err := s.st.db.ExecContext(r.Context(), `DELETE FROM auth_codes WHERE expires_at < ?`, now.Add(-24*time.Hour).UnixMilli()); err != nil {
		s.internalError(w, "consent: sweep codes", err)
		return
	}
	if _, err := s.st.db.ExecContext(r.Context(), `INSERT INTO auth_codes(hash, grant_id, client_id, redirect_uri,
		code_challenge, scopes, expires_at) VALUES(?,?,?,?,?,?,?)`, hashSecret(code), grantID, a.ClientID, a.RedirectURI,
		a.Challenge, strings.Join(a.Scopes, " "), now.Add(codeTTL).UnixMilli()); err != nil {
		s.internalError(w, "consent: store code", err)
		return
	}
	n := 0
	for _, on := range e.Devices {
		if on {
			n++
		}
	}
	s.log.Info("link approved", "client", a.ClientID, "user", u.ID, "grant", grantID, "devices", n, "shareNew", e.ShareNew)
	http.Redirect(w, r, a.redirectURL(s.issuer(r), url.Values{"code": {code}}), http.StatusSeeOther)
}

// authFailed answers a bad authorization request: back to the partner when
// its redirect URI is trusted, else an error page.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, a *authRequest, ae *authError) {
	if ae.redirect && a != nil {
		http.Redirect(w, r, a.redirectURL(s.issuer(r), url.Values{"error": {ae.code}, "error_description": {ae.desc}}), http.StatusSeeOther)
		return
	}
	s.pages.render(w, http.StatusBadRequest, errorPage{"Cannot link", "The link request is invalid: " + ae.desc + "."})
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.log.Error(what, "err", err)
	s.pages.render(w, http.StatusInternalServerError, errorPage{"Error", "Something went wrong on the hub."})
}
