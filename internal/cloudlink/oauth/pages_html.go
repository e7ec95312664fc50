package oauth

import "github.com/hubagent/hubagent/internal/device"

// The server-side pages, written out as Go (see HTML for why not
// html/template). Each page type renders itself into an HTMLBuilder.

// page is one full HTML page.
type page interface {
	writeHTML(b *HTMLBuilder)
}

func writeHead(b *HTMLBuilder, title string) {
	b.Raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n" +
		"<meta name=\"referrer\" content=\"no-referrer\">\n<title>")
	b.Text(title)
	b.Raw(" · hubagent</title>\n<link rel=\"stylesheet\" href=\"/assets/hub.css\">\n</head><body><main>\n")
}

func writeFoot(b *HTMLBuilder) { b.Raw("\n</main></body></html>") }

func writeHidden(b *HTMLBuilder, hs []hidden, csrf string) {
	for _, h := range hs {
		b.Raw(`<input type="hidden" name="`)
		b.Text(h.Name)
		b.Raw(`" value="`)
		b.Text(h.Value)
		b.Raw("\">\n")
	}
	b.Raw(`<input type="hidden" name="csrf_token" value="`)
	b.Text(csrf)
	b.Raw("\">\n")
}

func (p errorPage) writeHTML(b *HTMLBuilder) {
	writeHead(b, p.Title)
	b.Raw("<h1>")
	b.Text(p.Title)
	b.Raw("</h1>\n<section><p class=\"error\">")
	b.Text(p.Message)
	b.Raw("</p></section>")
	writeFoot(b)
}

func (p signinPage) writeHTML(b *HTMLBuilder) {
	writeHead(b, "Sign in")
	b.Raw("<h1>Sign in to your hub</h1>\n")
	if p.Partner != "" {
		b.Raw("<p><strong>")
		b.Text(p.Partner)
		b.Raw("</strong> asks to link with the devices of this home.</p>\n")
	}
	b.Raw(`<form class="card" method="post" action="`)
	b.Text(p.Action)
	b.Raw("\">\n")
	if p.Error != "" {
		b.Raw(`<p class="error" role="alert">`)
		b.Text(p.Error)
		b.Raw("</p>\n")
	}
	b.Raw(`<label>User name <input type="text" name="username" value="`)
	b.Text(p.User)
	b.Raw("\" autocomplete=\"username\" autocapitalize=\"none\" required></label>\n" +
		"<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n")
	writeHidden(b, p.Hidden, p.CSRF)
	b.Raw("<button type=\"submit\">Sign in</button>\n</form>")
	writeFoot(b)
}

func (p consentPage) writeHTML(b *HTMLBuilder) {
	writeHead(b, "Link a partner")
	b.Raw("<h1>Link ")
	b.Text(p.Partner)
	b.Raw("?</h1>\n<form class=\"card\" method=\"post\" action=\"/oauth2/authorize\">\n<p>Signed in as <strong>")
	b.Text(p.User)
	b.Raw("</strong>. <strong>")
	b.Text(p.Partner)
	b.Raw("</strong> will be able to:</p>\n<ul>")
	for _, sc := range p.Scopes {
		b.Raw("<li>")
		b.Text(scopeText(sc))
		b.Raw("</li>")
	}
	b.Raw("</ul>\n<h2>Devices to share</h2>\n")
	if len(p.Devices) > 0 {
		b.Raw(`<ul class="devices">`)
		for _, d := range p.Devices {
			writeDeviceBox(b, d, true)
		}
		b.Raw("\n</ul>")
	} else {
		b.Raw(`<p class="muted">The hub has found no devices yet.</p>`)
	}
	b.Raw("\n<label><input type=\"checkbox\" name=\"share_new\" value=\"1\">Also share devices added later <span class=\"muted\">(never locks)</span></label>\n")
	writeHidden(b, p.Hidden, p.CSRF)
	b.Raw("<button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n" +
		"<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\n</form>")
	writeFoot(b)
}

// writeDeviceBox writes one device checkbox of the consent page (withRoom)
// or of a link on the status page.
func writeDeviceBox(b *HTMLBuilder, d consentDevice, withRoom bool) {
	b.Raw("\n<li><label><input type=\"checkbox\" name=\"device\" value=\"")
	b.Text(d.ID)
	b.Raw(`"`)
	b.Checked(d.Checked)
	b.Raw(">")
	b.Text(d.Name)
	b.Raw("\n<span class=\"muted\">")
	b.Text(d.Category)
	if withRoom && d.Room != "" {
		b.Raw(" · ")
		b.Text(d.Room)
	}
	b.Raw("</span>")
	if d.Sensitive {
		if withRoom {
			b.Raw(` <span class="sensitive">(controls access: share only if you mean it)</span>`)
		} else {
			b.Raw(` <span class="sensitive">(controls access)</span>`)
		}
	}
	b.Raw("</label></li>")
}

func (p statusPage) writeHTML(b *HTMLBuilder) {
	writeHead(b, "Status")
	b.Raw("<h1>Hub status</h1>\n<form method=\"post\" action=\"/signout\"><span class=\"muted\">Signed in as ")
	b.Text(p.User)
	b.Raw("</span>\n<input type=\"hidden\" name=\"csrf_token\" value=\"")
	b.Text(p.CSRF)
	b.Raw("\"><button type=\"submit\" class=\"secondary\">Sign out</button></form>\n")
	for _, sec := range p.Sections {
		b.Raw(`<section id="`)
		b.Text(sec.ID)
		b.Raw(`"><h2>`)
		b.Text(sec.Title)
		b.Raw("</h2>\n")
		b.Raw(string(sec.HTML))
		b.Raw("</section>\n")
	}
	writeFoot(b)
}

// devicesHTML is the status page's list of devices.
func devicesHTML(ds []*device.Device) HTML {
	var b HTMLBuilder
	if len(ds) == 0 {
		b.Raw(`<p class="muted">No devices found yet.</p>`)
		return b.HTML()
	}
	b.Raw("<table><tr><th>Device</th><th>Kind</th><th>Online</th></tr>\n")
	for _, d := range ds {
		b.Raw("<tr><td>")
		b.Text(d.Name)
		if d.Room != "" {
			b.Raw(` <span class="muted">`)
			b.Text(d.Room)
			b.Raw("</span>")
		}
		b.Raw("</td><td>")
		b.Text(string(d.Category))
		if d.Online {
			b.Raw("</td><td>yes</td></tr>\n")
		} else {
			b.Raw("</td><td>no</td></tr>\n")
		}
	}
	b.Raw("</table>")
	return b.HTML()
}

// partnersHTML is the status page's partners and the user's links, each
// with its exposure form and unlink button.
func partnersHTML(data partnersData) HTML {
	var b HTMLBuilder
	if len(data.Partners) > 0 {
		b.Raw("<table><tr><th>Partner</th><th>Linked users</th></tr>\n")
		for _, p := range data.Partners {
			b.Raw("<tr><td>")
			b.Text(p.Name)
			b.Raw("</td><td>")
			b.Int(int64(p.LinkedUsers))
			b.Raw("</td></tr>\n")
		}
		b.Raw("</table>")
	} else {
		b.Raw(`<p class="muted">No partners registered (hubagent partner add).</p>`)
	}
	b.Raw("\n")
	for _, g := range data.Grants {
		b.Raw("\n<form class=\"card\" method=\"post\" action=\"/status/exposure\">\n<h2>Shared with ")
		b.Text(g.Grant.Partner)
		b.Raw("</h2>\n<ul class=\"devices\">")
		for _, d := range g.Devices {
			writeDeviceBox(&b, d, false)
		}
		b.Raw("\n</ul>\n<label><input type=\"checkbox\" name=\"share_new\" value=\"1\"")
		b.Checked(g.ShareNew)
		b.Raw(">Also share devices added later <span class=\"muted\">(never locks)</span></label>\n<input type=\"hidden\" name=\"grant_id\" value=\"")
		b.Text(g.Grant.ID)
		b.Raw("\"><input type=\"hidden\" name=\"csrf_token\" value=\"")
		b.Text(data.CSRF)
		b.Raw("\">\n<button type=\"submit\">Save</button>\n</form>\n<form method=\"post\" action=\"/status/unlink\"><input type=\"hidden\" name=\"grant_id\" value=\"")
		b.Text(g.Grant.ID)
		b.Raw("\">\n<input type=\"hidden\" name=\"csrf_token\" value=\"")
		b.Text(data.CSRF)
		b.Raw("\"><button type=\"submit\" class=\"secondary\">Unlink ")
		b.Text(g.Grant.Partner)
		b.Raw("</button></form>\n")
	}
	return b.HTML()
}
