package conformance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var sample = &Report{Target: "https://hub.example", Checks: []Result{
	{ID: "oauth.metadata", Group: "oauth", Status: Pass, Detail: "sent GET | requires x (§1)"},
	{ID: "query.known", Group: "query", Status: Fail, Detail: "FAILED: no state | requires y (§5.2)"},
	{ID: "subscription.list", Group: "subscription", Status: Skip, Detail: "skipped: no callback | requires z (§6.1)"},
}, Summary: Summary{Passed: 1, Failed: 1, Skipped: 1}}

func TestJSONHasTheIssuesShape(t *testing.T) {
	var b bytes.Buffer
	if err := sample.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for x := range m {
			k = append(k, x)
		}
		slices.Sort(k)
		return k
	}
	check := m["checks"].([]any)[1].(map[string]any)
	if !reflect.DeepEqual(keys(m), []string{"checks", "summary", "target"}) ||
		!reflect.DeepEqual(keys(check), []string{"detail", "group", "id", "status"}) ||
		!reflect.DeepEqual(keys(m["summary"].(map[string]any)), []string{"failed", "passed", "skipped"}) || check["status"] != "fail" {
		t.Fatalf("shape: %s", b.String())
	}
}

func TestJUnitCountsMatchTheReport(t *testing.T) {
	var b bytes.Buffer
	if err := sample.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if j.Tests != 3 || j.Failures != 1 || j.Skipped != 1 || len(j.Suites) != 3 ||
		j.Suites[1].Cases[0].Failure == nil || j.Suites[1].Cases[0].Failure.Message != "FAILED: no state" {
		t.Fatalf("%+v\n%s", j, b.String())
	}
}

func TestTableShowsEveryCheckAndTheSummary(t *testing.T) {
	var b bytes.Buffer
	if err := sample.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PASS", "FAIL", "SKIP", "query.known", "FAILED: no state", "1 passed, 1 failed, 1 skipped of 3 checks"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestEveryCheckNamesAProfileSectionAndIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range allChecks() {
		if seen[c.id] || !strings.HasPrefix(c.id, c.group+".") || !slices.Contains(Groups, c.group) || !strings.Contains(c.requires, "§") {
			t.Errorf("check %s (group %s): duplicate, misgrouped or without a section: %q", c.id, c.group, c.requires)
		}
		seen[c.id] = true
	}
	if len(seen) < 30 {
		t.Fatalf("%d checks", len(seen))
	}
}

func TestTokenAnswersAreReportedWithoutTheTokens(t *testing.T) {
	got := tokenText([]byte(`{"access_token":"eyJsecret","refresh_token":"r-secret","token_type":"Bearer","expires_in":3600}`), 300)
	if strings.Contains(got, "secret") || !strings.Contains(got, "[9 characters]") || !strings.Contains(got, "Bearer") {
		t.Fatalf("%s", got)
	}
}

func TestDocsListEveryCheck(t *testing.T) {
	b, err := os.ReadFile("../../docs/conformance.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range IDs() {
		if !strings.Contains(string(b), "`"+id+"`") {
			t.Errorf("docs/conformance.md does not list %s", id)
		}
	}
}
