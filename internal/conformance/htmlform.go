package conformance

import (
	"html"
	"net/url"
	"regexp"
	"strings"
)

// The sign-in and consent pages are read the way a partner's automation
// would read them: as HTML forms, whatever the server's templates look
// like. This is a small scanner for the few elements that matter (form,
// input, button, textarea); it never executes anything.

// maxFormPage bounds the page the scanner reads.
const maxFormPage = 1 << 20

// htmlForm is one <form> of a page.
type htmlForm struct {
	Action, Method string
	Fields         []formField
}

// formField is one input, button or textarea of a form.
type formField struct {
	Tag, Type, Name, Value, Text string
	Checked                      bool
}

// parseForms returns the forms of an HTML page in document order.
func parseForms(doc string) []htmlForm {
	if len(doc) > maxFormPage {
		doc = doc[:maxFormPage]
	}
	var forms []htmlForm
	var cur *htmlForm
	for i := 0; i < len(doc); {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		if strings.HasPrefix(doc[i:], "<!--") {
			end := strings.Index(doc[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		name, attrs, next := scanTag(doc, i)
		i = next
		switch name {
		case "script", "style":
			end := indexEndTag(doc[i:], name)
			if end < 0 {
				return forms
			}
			i += end
		case "form":
			forms = append(forms, htmlForm{Action: attrs["action"], Method: strings.ToLower(attrs["method"])})
			cur = &forms[len(forms)-1]
		case "/form":
			cur = nil
		case "input", "button", "textarea":
			if cur == nil {
				continue
			}
			f := formField{Tag: name, Type: strings.ToLower(attrs["type"]), Name: attrs["name"], Value: attrs["value"]}
			_, f.Checked = attrs["checked"]
			if name == "button" && f.Type == "" {
				f.Type = "submit"
			}
			if name == "button" || name == "textarea" {
				end := indexEndTag(doc[i:], name)
				if end >= 0 {
					f.Text = html.UnescapeString(strings.TrimSpace(stripTags(doc[i : i+end])))
					if name == "textarea" {
						f.Value = f.Text
					}
				}
			}
			cur.Fields = append(cur.Fields, f)
		}
	}
	return forms
}

// indexEndTag finds "</name" in s, ignoring ASCII case. Lower-casing s
// first would not do: strings.ToLower turns each invalid UTF-8 byte into
// three, so its indices no longer point into s.
func indexEndTag(s, name string) int {
	want := "</" + name
	for i := 0; i+len(want) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(want)], want) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

var tagRe = regexp.MustCompile(`<[^>]*>`)

func stripTags(s string) string { return tagRe.ReplaceAllString(s, " ") }

// scanTag reads the tag starting at doc[i] == '<' and returns its lower-case
// name ("/form" for an end tag), its attributes (unescaped) and the index
// after it.
func scanTag(doc string, i int) (string, map[string]string, int) {
	j := i + 1
	start := j
	if j < len(doc) && doc[j] == '/' {
		j++
	}
	for j < len(doc) && isNameByte(doc[j]) {
		j++
	}
	name := strings.ToLower(doc[start:j])
	attrs := map[string]string{}
	for j < len(doc) && doc[j] != '>' {
		if !isNameByte(doc[j]) {
			j++
			continue
		}
		k := j
		for j < len(doc) && isNameByte(doc[j]) {
			j++
		}
		key := strings.ToLower(doc[k:j])
		for j < len(doc) && doc[j] == ' ' {
			j++
		}
		val := ""
		if j < len(doc) && doc[j] == '=' {
			j++
			for j < len(doc) && doc[j] == ' ' {
				j++
			}
			if j < len(doc) && (doc[j] == '"' || doc[j] == '\'') {
				q := doc[j]
				end := strings.IndexByte(doc[j+1:], q)
				if end < 0 {
					return name, attrs, len(doc)
				}
				val = doc[j+1 : j+1+end]
				j += end + 2
			} else {
				v := j
				for j < len(doc) && doc[j] != '>' && doc[j] != ' ' && doc[j] != '\t' && doc[j] != '\n' {
					j++
				}
				val = doc[v:j]
			}
		}
		if _, dup := attrs[key]; !dup {
			attrs[key] = html.UnescapeString(val)
		}
	}
	return name, attrs, min(j+1, len(doc))
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':'
}

// hasPassword reports whether f is a sign-in form.
func (f htmlForm) hasPassword() bool {
	for _, x := range f.Fields {
		if x.Tag == "input" && x.Type == "password" {
			return true
		}
	}
	return false
}

var (
	denyWords    = regexp.MustCompile(`(?i)\b(deny|reject|decline|cancel|refuse|no)\b`)
	approveWords = regexp.MustCompile(`(?i)\b(approve|allow|accept|authori[sz]e|consent|grant|yes|continue|link)\b`)
)

// submitButton picks the button a household member presses to agree:
// preferably one that says so, never one that says no.
func (f htmlForm) submitButton() (formField, bool) {
	var fallback *formField
	for i, x := range f.Fields {
		if x.Type != "submit" {
			continue
		}
		words := x.Name + " " + x.Value + " " + x.Text
		if denyWords.MatchString(words) {
			continue
		}
		if approveWords.MatchString(words) {
			return x, true
		}
		if fallback == nil {
			fallback = &f.Fields[i]
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return formField{}, false
}

// fill returns the values a browser would submit: hidden and text fields
// as they are, every checkbox ticked (the kit shares every device
// offered), the first of each radio group, the chosen submit button, and
// the username/password when given.
func (f htmlForm) fill(username, password string) url.Values {
	v := url.Values{}
	radios := map[string]bool{}
	for _, x := range f.Fields {
		if x.Name == "" {
			continue
		}
		switch {
		case x.Type == "submit" || x.Type == "image" || x.Type == "reset" || x.Type == "button" || x.Type == "file":
		case x.Type == "checkbox":
			val := x.Value
			if val == "" {
				val = "on"
			}
			v.Add(x.Name, val)
		case x.Type == "radio":
			if !radios[x.Name] {
				radios[x.Name] = true
				v.Set(x.Name, x.Value)
			}
		case x.Type == "password":
			v.Set(x.Name, password)
		case x.Tag == "input" && (x.Type == "" || x.Type == "text" || x.Type == "email") && username != "" && x.Value == "":
			v.Set(x.Name, username)
		default:
			v.Add(x.Name, x.Value)
		}
	}
	if b, ok := f.submitButton(); ok && b.Name != "" {
		v.Set(b.Name, b.Value)
	}
	return v
}
