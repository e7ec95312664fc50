package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report in the --json shape.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the report for a person: one line per check (the
// detail in full for failures), then the summary.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tDETAIL")
	for _, c := range rep.Checks {
		d := c.Detail
		if c.Status == Pass && len(d) > 110 {
			d = d[:110] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(string(c.Status)), c.ID, d)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d skipped of %d checks\n", rep.Target,
		rep.Summary.Passed, rep.Summary.Failed, rep.Summary.Skipped, len(rep.Checks))
	return err
}

// JUnit XML (the de-facto schema CI systems read: testsuites > testsuite >
// testcase with failure / skipped).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML, one testsuite per group.
func (rep *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Name: "hubagent conformance " + rep.Target}
	for _, g := range Groups {
		s := junitSuite{Name: "conformance." + g}
		for _, c := range rep.Checks {
			if c.Group != g {
				continue
			}
			tc := junitCase{Name: c.ID, Classname: "conformance." + g}
			switch c.Status {
			case Fail:
				tc.Failure = &junitMessage{Message: firstPart(c.Detail), Text: c.Detail}
				s.Failures++
			case Skip:
				tc.Skipped = &junitMessage{Message: firstPart(c.Detail)}
				s.Skipped++
			default:
				tc.SystemOut = c.Detail
			}
			s.Tests++
			s.Cases = append(s.Cases, tc)
		}
		if s.Tests == 0 {
			continue
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstPart(d string) string {
	p, _, _ := strings.Cut(d, " | ")
	return p
}
