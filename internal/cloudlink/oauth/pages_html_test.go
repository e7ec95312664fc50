package oauth

import (
	"html"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

// Every value that reaches a page from outside (partner names, device
// names, form values, user names) is escaped in text and in attributes.
func TestPagesEscapeEveryOutsideValue(t *testing.T) {
	const evil = `"><script>x</script>'&`
	dev := consentDevice{ID: evil, Name: evil, Category: evil, Room: evil, Sensitive: true, Checked: true}
	hid := []hidden{{Name: evil, Value: evil}}
	for _, tc := range []struct {
		name string
		html func() string
	}{
		{"error", func() string { return renderString(errorPage{evil, evil}) }},
		{"signin", func() string {
			return renderString(signinPage{Partner: evil, Action: evil, Hidden: hid, CSRF: evil, User: evil, Error: evil})
		}},
		{"consent", func() string {
			return renderString(consentPage{Partner: evil, User: evil, Scopes: []string{evil}, Devices: []consentDevice{dev}, Hidden: hid, CSRF: evil})
		}},
		{"status", func() string {
			return renderString(statusPage{User: evil, CSRF: evil, Sections: []renderedSection{{ID: evil, Title: evil, HTML: "<p>ok</p>"}}})
		}},
		{"devices section", func() string {
			return string(devicesHTML([]*device.Device{{Name: evil, Room: evil, Category: device.Category(evil)}}))
		}},
		{"partners section", func() string {
			return string(partnersHTML(partnersData{CSRF: evil, Partners: []*Partner{{Name: evil}},
				Grants: []partnerGrant{{Grant: &Grant{ID: evil, Partner: evil}, Devices: []consentDevice{dev}}}}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.html()
			if strings.Contains(h, "<script>") || strings.Contains(h, "'&") {
				t.Fatalf("unescaped value in page:\n%s", h)
			}
			if !strings.Contains(h, "&#34;&gt;&lt;script&gt;x&lt;/script&gt;&#39;&amp;") {
				t.Fatalf("escaped value missing from page:\n%s", h)
			}
		})
	}
}

// The status page embeds each section's HTML as it is: sections escape
// their own values.
func TestStatusPageEmbedsSectionHTML(t *testing.T) {
	h := renderString(statusPage{User: "ann", Sections: []renderedSection{{ID: "x", Title: "X", HTML: "<p>tunnel up</p>"}}})
	if !strings.Contains(h, "<p>tunnel up</p>") || !strings.HasSuffix(h, "</main></body></html>") {
		t.Fatalf("status page:\n%s", h)
	}
}

func renderString(p page) string {
	var b HTMLBuilder
	p.writeHTML(&b)
	return b.String()
}

// HTMLBuilder.Text escapes exactly as the standard library's
// html.EscapeString does.
func TestHTMLTextEscapesLikeTheStandardLibrary(t *testing.T) {
	for _, s := range []string{"", "plain", `<a href="x">Tom & Jerry's</a>`, "&&<<>>''\"\"", "ünï<cödé>", "tail&"} {
		var b HTMLBuilder
		b.Text(s)
		if got, want := b.String(), html.EscapeString(s); got != want {
			t.Errorf("Text(%q) = %q, want %q", s, got, want)
		}
	}
}
