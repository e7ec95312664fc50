// Package testutil holds helpers shared by tests that run real parts
// (mosquitto, sshd, Chromium, Avahi). It is imported only from _test files.
package testutil

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// LookTool returns the path of a program the test needs. Where it is
// missing the test is skipped on a developer's machine, but fails under CI
// (CI=true), where `make test` installs everything: a real-part test must
// never pass by not running.
func LookTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if fi, err := os.Stat(dir + "/" + name); err == nil && !fi.IsDir() {
			return dir + "/" + name
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (run scripts/test-deps.sh)", name)
	}
	t.Skipf("%s is not installed; run scripts/test-deps.sh (or make test) to install the real parts", name)
	return ""
}

// FreeAddr returns a loopback host:port that nobody listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
