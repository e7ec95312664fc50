package conformance

import (
	"os/exec"
	"strings"
	"testing"
)

// TestKitImportsNoServerPackage pins the kit's independence: it speaks
// only the wire format, so a misreading shared with the server cannot
// hide. Its whole dependency graph is the standard library (and at most
// golang.org/x/oauth2).
func TestKitImportsNoServerPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	self := "github.com/hubagent/hubagent/internal/conformance"
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, std, _ := strings.Cut(line, " ")
		n++
		switch {
		case std == "true", path == self, strings.HasPrefix(path, "golang.org/x/oauth2"):
		case strings.HasPrefix(path, "vendor/"), strings.HasPrefix(path, "golang.org/x/") && std == "true":
		default:
			t.Errorf("the kit depends on %s: it may use only the standard library and golang.org/x/oauth2", path)
		}
	}
	if n < 10 {
		t.Fatalf("go list listed only %d packages: %s", n, out)
	}
}
