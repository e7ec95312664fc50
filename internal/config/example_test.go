package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// examplePath is the commented example installed by the packages.
const examplePath = "../../packaging/hubagent.toml"

// uncommentExample turns every "# key = value" line of the example into a
// real setting and returns the document and the dotted keys it sets.
func uncommentExample(t *testing.T) (string, []string) {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	setting := regexp.MustCompile(`^# ([a-z_]+) = (.*)$`)
	header := regexp.MustCompile(`^\[([a-z_]+)\]$`)
	var keys []string
	section := ""
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if m := header.FindStringSubmatch(line); m != nil {
			section = m[1] + "."
		}
		if m := setting.FindStringSubmatch(line); m != nil {
			lines[i] = m[1] + " = " + m[2]
			keys = append(keys, section+m[1])
		}
	}
	return strings.Join(lines, "\n"), keys
}

func TestExampleConfigLoadsToDefault(t *testing.T) {
	c, err := Load(examplePath, nil, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	c.File = ""
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("example loads to\n%v\nwant Default()\n%v", c, Default())
	}
}

func TestExampleConfigShowsEveryKeyAtItsDefault(t *testing.T) {
	doc, keys := uncommentExample(t)
	var want []string
	for _, f := range schema() {
		want = append(want, f.key)
	}
	if !slices.Equal(keys, want) {
		t.Errorf("example sets keys\n%v\nwant every key once, in schema order\n%v", keys, want)
	}
	c, _, err := loadDoc(t, doc)
	if err != nil {
		t.Fatalf("uncommented example does not load: %v", err)
	}
	c.File = ""
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("uncommented example loads to\n%v\nwant Default()\n%v", c, Default())
	}
}
