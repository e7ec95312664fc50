package shelly_test

import "testing"

// rfc7616Authorization is the SHA-256 answer of RFC 7616 §3.9.1 (user
// Mufasa, password "Circle of Life", GET /dir/index.html).
const rfc7616Authorization = `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", ` +
	`algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ` +
	`cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ` +
	`response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ` +
	`opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`

// The fake device's digest check accepts the RFC's example answer and
// refuses it with anything changed.
func TestFakeDigestCheckAcceptsTheRFC7616Example(t *testing.T) {
	const realm, pass = "http-auth@example.org", "Circle of Life"
	for _, tt := range []struct {
		name                            string
		auth, method, user, pass, realm string
		want                            bool
	}{
		{"the RFC's answer", rfc7616Authorization, "GET", "Mufasa", pass, realm, true},
		{"another method", rfc7616Authorization, "POST", "Mufasa", pass, realm, false},
		{"another password", rfc7616Authorization, "GET", "Mufasa", "circle of life", realm, false},
		{"another user", rfc7616Authorization, "GET", "admin", pass, realm, false},
		{"another realm", rfc7616Authorization, "GET", "Mufasa", pass, "example.org", false},
		{"not digest", "Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl", "GET", "Mufasa", pass, realm, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := digestAnswerOK(tt.auth, tt.method, tt.user, tt.pass, tt.realm); got != tt.want {
				t.Errorf("digestAnswerOK = %v, want %v", got, tt.want)
			}
		})
	}
}
