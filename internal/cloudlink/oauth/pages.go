package oauth

import (
	_ "embed"
	"net/http"
	"net/url"
)

//go:embed templates/hub.css
var stylesheet []byte

// pages renders the server-side HTML (no JavaScript, no external assets).
type pages struct {
	stylesheet []byte
}

func newPages() (*pages, error) {
	return &pages{stylesheet: stylesheet}, nil
}

// pageCSP allows only the hub's own stylesheet and no framing at all.
// There is deliberately no form-action: browsers apply it to the redirect
// that follows the consent form, which goes to the partner.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// render writes a page.
func (p *pages) render(w http.ResponseWriter, status int, pg page) {
	var buf HTMLBuilder
	pg.writeHTML(&buf)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(buf.String())) //nolint:errcheck // the browser went away
}

func (p *pages) serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(p.stylesheet) //nolint:errcheck // the browser went away
}

// scopeText explains a scope to the household on the consent page.
func scopeText(s string) string {
	switch s {
	case ScopeDevicesRead:
		return "see the chosen devices and their state"
	case ScopeDevicesControl:
		return "control the chosen devices"
	case ScopeSubscriptions:
		return "be told when the chosen devices change"
	}
	return s
}

// hidden is one hidden form field.
type hidden struct{ Name, Value string }

func hiddenFields(v url.Values) []hidden {
	var out []hidden
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"} {
		if v.Has(k) {
			out = append(out, hidden{k, v.Get(k)})
		}
	}
	return out
}

// signinPage is the data of the sign-in form.
type signinPage struct {
	Partner string
	Action  string
	Hidden  []hidden
	CSRF    string
	User    string
	Error   string
}

// consentDevice is one checkbox of the consent and status pages.
type consentDevice struct {
	ID, Name, Category, Room string
	Checked, Sensitive       bool
}

// consentPage is the data of the consent form.
type consentPage struct {
	Partner string
	User    string
	Scopes  []string
	Devices []consentDevice
	Hidden  []hidden
	CSRF    string
}

// errorPage is shown when the request cannot go back to the partner.
type errorPage struct {
	Title, Message string
}
