package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hubagentIn runs one CLI command with stdin.
func hubagentIn(t testing.TB, dir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func TestPartnerCommandsWithAndWithoutAgent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Stopped agent: the CLI writes the database itself.
	out, errOut, code := hubagent(t, dir, "partner", "add", "--name", "Voice Cloud", "--redirect-uri",
		"https://voice.example/cb", "--notify-hmac-secret", "hmac-secret-0123456789", "--json")
	if code != 0 {
		t.Fatalf("partner add: %d %s", code, errOut)
	}
	var added struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.ClientID == "" || len(added.ClientSecret) < 43 {
		t.Fatalf("partner add --json: %q %v", out, err)
	}
	if _, errOut, code := hubagentIn(t, dir, "a long password\n", "user", "add", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	if _, _, code := hubagentIn(t, dir, "short\n", "user", "passwd", "alice"); code != 1 {
		t.Fatalf("user passwd with a short password: exit %d", code)
	}
	if _, _, code := hubagent(t, dir, "partner", "add", "--redirect-uri", "https://x.example/cb"); code != 2 {
		t.Fatalf("partner add without --name: exit %d", code)
	}
	if _, _, code := hubagent(t, dir, "partner", "add", "--name", "X", "--redirect-uri", "http://x.example/cb"); code != 2 {
		t.Fatalf("partner add with an http redirect: exit %d", code)
	}

	a := startAgent(t, dir)
	a.healthz(t, 20*time.Second)
	// Running agent: added partners are seen at once (read per request).
	out, _, code = hubagent(t, dir, "partner", "add", "--name", "Phone App", "--redirect-uri", "https://app.example/cb", "--public")
	if code != 0 || !strings.Contains(out, "clientId:") || strings.Contains(out, "clientSecret") {
		t.Fatalf("public partner add: %d %q", code, out)
	}
	for _, args := range [][]string{{"partner", "list"}, {"partner", "list", "--json"}} {
		out, _, code := hubagent(t, dir, args...)
		if code != 0 || !strings.Contains(out, added.ClientID) || !strings.Contains(out, "Phone App") {
			t.Fatalf("%v: %d %s", args, code, out)
		}
		for _, secret := range []string{added.ClientSecret, "hmac-secret-0123456789"} {
			if strings.Contains(out, secret) {
				t.Fatalf("%v shows a secret:\n%s", args, out)
			}
		}
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed loopback
	resp, err := hc.Get("https://" + a.api + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if md["token_endpoint"] != "https://"+a.api+"/oauth2/token" {
		t.Fatalf("metadata %v", md)
	}
	if out, errOut, code := hubagent(t, dir, "partner", "remove", added.ClientID); code != 0 {
		t.Fatalf("partner remove: %d %s %s", code, out, errOut)
	}
	if out, _, _ := hubagent(t, dir, "partner", "list"); strings.Contains(out, added.ClientID) {
		t.Fatalf("removed partner still listed:\n%s", out)
	}
	if _, _, code := hubagent(t, dir, "partner", "remove", added.ClientID); code != 1 {
		t.Fatalf("removing twice: exit %d", code)
	}
	a.stop(t, 10*time.Second)
	if strings.Contains(a.stderr.String(), added.ClientSecret) {
		t.Fatal("the agent logged a client secret")
	}
	for _, name := range []string{"oauth-signing.key", "hubagent.db"} {
		fi, err := os.Stat(filepath.Join(dir, "hubagent-data", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", name, fi.Mode().Perm())
		}
	}
}
