package conformance

import (
	"net/url"
	"reflect"
	"testing"
)

// A consent page as the profile describes it (§4 step 2): a checkbox per
// device, "also share devices added later", hidden request parameters, a
// CSRF token and approve/deny buttons; escaped as html/template escapes.
const consentPage = `<!doctype html><html><head><title>Link</title>
<style>form{display:block}</style><script>var s = "<form action='/evil'>";</script></head><body>
<!-- <form action="/commented-out"><input name="x"></form> -->
<form class="card" method="post" action="/oauth2/authorize">
<ul><li><label><input type="checkbox" name="device" value="mqtt-lamp" checked>Lamp</label></li>
<li><label><input type="checkbox" name="device" value="lock&#43;1">Front door <span>(controls access)</span></label></li></ul>
<label><input type="checkbox" name="share_new" value="1">Also share devices added later</label>
<input type="hidden" name="state" value="a&amp;b &#34;q&#34;">
<input type=hidden name=csrf_token value=tok123>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="approve">Allow</button>
</form></body></html>`

const signinPage = `<form method="post" action="/oauth2/authorize"><p class="error">Wrong</p>
<label>User name <input type="text" name="username" value="" autocomplete="username" required></label>
<label>Password <input type="password" name="password" required></label>
<input type="hidden" name="client_id" value="c1"><button type="submit">Sign in</button></form>`

func TestConsentFormIsFilledLikeABrowserSharingEveryDevice(t *testing.T) {
	forms := parseForms(consentPage)
	if len(forms) != 1 || forms[0].Action != "/oauth2/authorize" || forms[0].Method != "post" || forms[0].hasPassword() {
		t.Fatalf("forms %+v", forms)
	}
	got := forms[0].fill("", "")
	want := url.Values{"device": {"mqtt-lamp", "lock+1"}, "share_new": {"1"}, "state": {`a&b "q"`},
		"csrf_token": {"tok123"}, "decision": {"approve"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("filled %v\nwant   %v", got, want)
	}
}

func TestSignInFormGetsTheCredentials(t *testing.T) {
	forms := parseForms(signinPage)
	if len(forms) != 1 || !forms[0].hasPassword() {
		t.Fatalf("forms %+v", forms)
	}
	got := forms[0].fill("alice", "pw")
	want := url.Values{"username": {"alice"}, "password": {"pw"}, "client_id": {"c1"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("filled %v, want %v", got, want)
	}
}

func TestSubmitButtonNeverPicksDeny(t *testing.T) {
	for _, tc := range []struct{ page, want string }{
		{`<form><button name="d" value="no">No</button><input type="submit" name="d" value="yes"></form>`, "yes"},
		{`<form><button name="a" value="reject">x</button><button name="a" value="ok">Continue</button></form>`, "ok"},
		{`<form><button name="a" value="cancel">Cancel</button></form>`, ""},
	} {
		b, _ := parseForms(tc.page)[0].submitButton()
		if b.Value != tc.want {
			t.Errorf("%s: picked %q, want %q", tc.page, b.Value, tc.want)
		}
	}
}

func FuzzParseForms(f *testing.F) {
	f.Add(consentPage)
	f.Add(signinPage)
	f.Add(`<form action=x><input name="a" value='b`)
	f.Add(`<form><textarea name=t>x</textarea><button>`)
	f.Fuzz(func(t *testing.T, doc string) {
		for _, form := range parseForms(doc) {
			for _, x := range form.Fields {
				if x.Tag != "input" && x.Tag != "button" && x.Tag != "textarea" {
					t.Fatalf("field of tag %q", x.Tag)
				}
			}
			v := form.fill("u", "p")
			for _, x := range form.Fields {
				if x.Tag == "input" && x.Type == "password" && x.Name != "" && v.Get(x.Name) != "p" {
					t.Fatalf("password field %q not filled: %v", x.Name, v)
				}
				if x.Type == "checkbox" && x.Name != "" && !v.Has(x.Name) {
					t.Fatalf("checkbox %q not ticked: %v", x.Name, v)
				}
			}
		}
	})
}
