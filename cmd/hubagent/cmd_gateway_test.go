//go:build gateway

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Run with: go test -tags gateway -run TestGatewayBuild ./cmd/hubagent/
// (.ci/run does). The default build's relay and conformance tests cover the
// full binary.
func TestGatewayBuildRefusesRelayAndConformanceInOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"relay", "serve", "--listen", "127.0.0.1:0"},
		{"relay", "keys", "hubagent", "AAAA"},
		{"relay"},
		{"conformance", "--target", "https://127.0.0.1:1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), args, &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
			if code != exitFailure {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitFailure, errb.String())
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "hubagent "+args[0]+": not in this gateway build") {
				t.Fatalf("stderr %q: want one line naming the gateway build", msg)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestGatewayBuildStillRunsTheGatewayCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"version", "--json"}, &Env{Stdout: &out, Stderr: &errb}); code != exitOK {
		t.Fatalf("version: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"--help"}, &Env{Stdout: &out, Stderr: &errb}); code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	for _, name := range []string{"run", "tunnel", "partner", "relay", "conformance"} {
		if !strings.Contains(out.String(), "  "+name) {
			t.Errorf("--help does not list %s:\n%s", name, out.String())
		}
	}
}
