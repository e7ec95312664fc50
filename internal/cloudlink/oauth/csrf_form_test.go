package oauth

import (
	"bytes"
	"mime/multipart"
	"testing"
)

// The pages post application/x-www-form-urlencoded, and the handlers read
// every field, the CSRF token included, from that form: a multipart body
// is refused (and the multipart parser is not in the binary).
func TestCSRFTokenIsReadFromTheURLEncodedFormOnly(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	p := e.authParams(e.clientID, "")
	st, _, csrf := e.page(c, e.base+"/oauth2/authorize?"+p.Encode())
	if st != 200 || csrf == "" {
		t.Fatalf("sign-in page: %d, csrf %q", st, csrf)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("username", testUser)
	mw.WriteField("password", testPassword)
	mw.WriteField("csrf_token", csrf)
	for k, v := range p {
		mw.WriteField(k, v[0])
	}
	mw.Close()
	resp, err := c.Post(e.base+"/oauth2/authorize", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Fatalf("multipart sign-in with the token: status %d, want a 4xx refusal", resp.StatusCode)
	}
	// The same fields URL-encoded sign in.
	e.signIn(c, p)
}
