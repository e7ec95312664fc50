package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kitReport is the --json output of `hubagent conformance`, decoded with
// the shape the issue fixes.
type kitReport struct {
	Target string `json:"target"`
	Checks []struct {
		ID, Group, Status, Detail string
	} `json:"checks"`
	Summary struct {
		Passed, Failed, Skipped int
	} `json:"summary"`
}

func (k kitReport) with(status string) []string {
	var out []string
	for _, c := range k.Checks {
		if c.Status == status {
			out = append(out, c.ID)
		}
	}
	return out
}

func (k kitReport) details(status string) string {
	var b strings.Builder
	for _, c := range k.Checks {
		if c.Status == status {
			b.WriteString("\n  " + c.ID + ": " + c.Detail)
		}
	}
	return b.String()
}

// callbackPair writes a certificate and key for 127.0.0.1, the address the
// kit serves notifications on; the agent is told to trust it.
func callbackPair(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "conformance kit"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cb-cert.pem"), filepath.Join(dir, "cb-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// kitPartner registers a partner for the kit and returns its credentials.
func kitPartner(t *testing.T, dir, name string, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := hubagent(t, dir, append([]string{"partner", "add", "--name", name, "--redirect-uri", testRedirect,
		"--json", "--config", "hubagent.toml"}, args...)...)
	if code != 0 {
		t.Fatalf("partner add: %s", errOut)
	}
	var p struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	return p.ClientID, p.ClientSecret
}

// runKit runs `hubagent conformance` as a vendor would and decodes --json.
func runKit(t *testing.T, target, id, secret string, extra ...string) (kitReport, int, string) {
	t.Helper()
	args := append([]string{"conformance", "--target", "https://" + target, "--client-id", id, "--client-secret", secret,
		"--redirect-uri", testRedirect, "--username", "alice", "--password", "correct horse battery", "--insecure", "--json"}, extra...)
	cmd := exec.Command(binPath, args...)
	cmd.Env = cleanEnv()
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	var rep kitReport
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s\nstderr: %s", err, out.String(), errb.String())
	}
	return rep, cmd.ProcessState.ExitCode(), errb.String()
}

// junitFile is the JUnit XML as CI systems read it.
type junitFile struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func checkJUnit(t *testing.T, file string, rep kitReport) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var j junitFile
	if err := xml.Unmarshal(b, &j); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, b)
	}
	cases, fails, skips := 0, 0, 0
	for _, s := range j.Suites {
		for _, c := range s.Cases {
			cases++
			if c.Failure != nil {
				fails++
			}
			if c.Skipped != nil {
				skips++
			}
		}
	}
	if cases != len(rep.Checks) || j.Tests != cases || fails != rep.Summary.Failed || j.Failures != fails ||
		skips != rep.Summary.Skipped || j.Skipped != skips {
		t.Errorf("JUnit counts tests=%d/%d failures=%d/%d skipped=%d/%d, JSON %d checks %+v",
			j.Tests, cases, j.Failures, fails, j.Skipped, skips, len(rep.Checks), rep.Summary)
	}
	if py, err := exec.LookPath("python3"); err == nil {
		script := `import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
cs = r.findall('./testsuite/testcase')
print(len(cs), sum(1 for c in cs if c.find('failure') is not None), sum(1 for c in cs if c.find('skipped') is not None))`
		out, err := exec.Command(py, "-c", script, file).CombinedOutput()
		want := strings.Join([]string{itoa(int64(len(rep.Checks))), itoa(int64(rep.Summary.Failed)), itoa(int64(rep.Summary.Skipped))}, " ")
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("python3 reads the JUnit file as %q (%v), want %q", out, err, want)
		}
	}
}

// TestConformanceKitPassesAgainstTheAgent runs the kit against the real
// agent on a real broker with echoing simulated devices, once with pushes
// authenticated by a bearer token from the kit's own token endpoint and
// once by HMAC signature: every check runs and passes.
func TestConformanceKitPassesAgainstTheAgent(t *testing.T) {
	t.Parallel()
	cert, key := callbackPair(t)
	for _, mode := range []string{"bearer", "hmac"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel() // in a world of its own, as the kits share devices
			w := newCICWorld(t, "\n[notify]\nca_file = \""+cert+"\"\n")
			cb := freePort(t)
			args := []string{"--callback-host", "127.0.0.1", "--allow-private-callback"}
			kitArgs := []string{"--callback-listen", cb, "--callback-url", "https://" + cb + "/cic/notify",
				"--callback-cert", cert, "--callback-key", key}
			if mode == "bearer" {
				args = append(args, "--notify-token-url", "https://"+cb+"/token", "--notify-client-id", "hub", "--notify-client-secret", "push-secret")
			} else {
				args = append(args, "--notify-hmac-secret", "shared-hmac-secret")
				kitArgs = append(kitArgs, "--callback-hmac-secret", "shared-hmac-secret")
			}
			id, secret := kitPartner(t, w.dir, "Kit "+mode, args...)
			junit := filepath.Join(t.TempDir(), "conformance.xml")
			rep, code, stderr := runKit(t, w.ag.api, id, secret, append(kitArgs, "--junit", junit)...)
			if code != 0 || rep.Summary.Failed != 0 || rep.Summary.Skipped != 0 {
				t.Fatalf("exit %d, %+v, stderr %q\nfailed:%s\nskipped:%s", code, rep.Summary, stderr, rep.details("fail"), rep.details("skip"))
			}
			if len(rep.Checks) < 30 || rep.Summary.Passed != len(rep.Checks) || rep.Target != "https://"+w.ag.api {
				t.Fatalf("%d checks, summary %+v, target %q", len(rep.Checks), rep.Summary, rep.Target)
			}
			groups := map[string]int{}
			for _, c := range rep.Checks {
				groups[c.Group]++
				if !strings.Contains(c.Detail, "§") {
					t.Errorf("%s: the detail names no profile section: %s", c.ID, c.Detail)
				}
			}
			for _, g := range []string{"oauth", "discovery", "query", "control", "errors", "subscription"} {
				if groups[g] == 0 {
					t.Errorf("no checks in group %s", g)
				}
			}
			checkJUnit(t, junit, rep)
		})
	}
}

func TestConformanceUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	base := []string{"conformance", "--client-id", "c", "--redirect-uri", testRedirect}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no target", append(base, "--username", "u", "--password", "p"), "--target"},
		{"plain http", append(base, "--target", "http://127.0.0.1:1", "--username", "u", "--password", "p"), "https"},
		{"no credentials", append(base, "--target", "https://127.0.0.1:1"), "--refresh-token"},
		{"both credentials", append(base, "--target", "https://127.0.0.1:1", "--username", "u", "--password", "p", "--refresh-token", "r"), "not both"},
		{"callback half", append(base, "--target", "https://127.0.0.1:1", "--refresh-token", "r", "--callback-listen", "127.0.0.1:0"), "go together"},
		{"ca and insecure", append(base, "--target", "https://127.0.0.1:1", "--refresh-token", "r", "--insecure", "--ca-file", "x"), "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := hubagent(t, t.TempDir(), tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q (want 2 and one line naming %q)", code, errOut, tc.want)
			}
		})
	}
}

// TestConformanceKitSpendsOneSignInAndRunsFromARefreshToken: a refused
// sign-in is never retried (four runs with a wrong password stay under the
// agent's lockout of five, so the right password still links), and a run
// from a refresh token obtained elsewhere passes what it can run.
func TestConformanceKitSpendsOneSignInAndRunsFromARefreshToken(t *testing.T) {
	t.Parallel()
	w := newCICWorld(t, "")
	id, secret := kitPartner(t, w.dir, "Kit sign-in")
	for i := 0; i < 4; i++ {
		args := []string{"conformance", "--target", "https://" + w.ag.api, "--client-id", id, "--client-secret", secret,
			"--redirect-uri", testRedirect, "--username", "alice", "--password", "wrong password", "--insecure", "--json"}
		out, _, code := hubagent(t, t.TempDir(), args...)
		var rep kitReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
			t.Fatalf("wrong password run %d: exit %d %v", i, code, err)
		}
		for _, c := range rep.Checks {
			if c.ID == "oauth.code-flow" && (c.Status != "fail" || !strings.Contains(c.Detail, "sign-in refused")) {
				t.Fatalf("code-flow with a wrong password: %s %s", c.Status, c.Detail)
			}
		}
	}
	rep, code, _ := runKit(t, w.ag.api, id, secret)
	if code != 0 || rep.Summary.Failed != 0 {
		t.Fatalf("after four refused runs the right password did not link: exit %d%s", code, rep.details("fail"))
	}

	p := linkPartner(t, w.dir, w.ag.api, "Kit refresh", "devices.read devices.control subscriptions",
		[]string{e2eLampID, e2eMuteID, sensorID, ghostID}, "--config", "hubagent.toml")
	tok, err := p.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := hubagent(t, t.TempDir(), "conformance", "--target", "https://"+w.ag.api, "--client-id", p.clientID,
		"--client-secret", p.secret, "--redirect-uri", testRedirect, "--refresh-token", tok.RefreshToken, "--insecure", "--json")
	var fromRefresh kitReport
	if err := json.Unmarshal([]byte(out), &fromRefresh); err != nil || code != 0 || fromRefresh.Summary.Failed != 0 || fromRefresh.Summary.Passed < 30 {
		t.Fatalf("--refresh-token run: exit %d %v %q %+v%s", code, err, errOut, fromRefresh.Summary, fromRefresh.details("fail"))
	}
	for _, c := range fromRefresh.Checks {
		if c.Status == "skip" && !strings.Contains(c.Detail, "--refresh-token") && !strings.Contains(c.Detail, "--callback") {
			t.Errorf("%s skipped for another reason: %s", c.ID, c.Detail)
		}
	}
}
