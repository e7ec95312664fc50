package oauth

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
)

//go:embed templates/*.html templates/hub.css
var templateFS embed.FS

// pages renders the server-side HTML (no JavaScript, no external assets).
type pages struct {
	t          *template.Template
	stylesheet []byte
}

func newPages() (*pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"scopeText": scopeText,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("oauth: parse templates: %w", err)
	}
	css, err := templateFS.ReadFile("templates/hub.css")
	if err != nil {
		return nil, fmt.Errorf("oauth: read stylesheet: %w", err)
	}
	return &pages{t: t, stylesheet: css}, nil
}

// pageCSP allows only the hub's own stylesheet and no framing at all.
// There is deliberately no form-action: browsers apply it to the redirect
// that follows the consent form, which goes to the partner.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// render writes a page; rendering into a buffer first means a template
// error becomes a clean 500 instead of half a page.
func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the browser went away
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
