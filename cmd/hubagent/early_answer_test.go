package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel/tunneltest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// oversized is a body just past the profile's limit: small enough that a
// client finishes writing it quickly, large enough that the agent answers
// before reading it.
const oversized = cic.MaxBody + 512

// attempt is one line a client script prints.
type attempt struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Error  string `json:"error"`
}

// TestOversizedPostGetsReadable413FromEveryClient sends oversized POSTs to
// /cic/v1 from real client processes, directly over HTTPS and through the
// SSH tunnel, and wants every one to read the profile's 413 ErrorResponse.
// Clients that write the whole body before reading (Python's urllib) saw a
// reset instead while the agent closed without lingering.
func TestOversizedPostGetsReadable413FromEveryClient(t *testing.T) {
	t.Parallel()
	const n = 20
	clients := []struct {
		name string
		cmd  func(url string) *exec.Cmd
	}{
		{"python urllib.request", func(url string) *exec.Cmd {
			return exec.Command("python3", "testdata/earlyanswer/urllib_post.py", url, fmt.Sprint(n), fmt.Sprint(oversized))
		}},
		{"python http.client", func(url string) *exec.Cmd {
			return exec.Command("python3", "testdata/earlyanswer/httpclient_post.py", url, fmt.Sprint(n), fmt.Sprint(oversized))
		}},
		{"node fetch", func(url string) *exec.Cmd {
			c := exec.Command("node", "testdata/earlyanswer/fetch_post.mjs", url, fmt.Sprint(n), fmt.Sprint(oversized))
			c.Env = append(os.Environ(), "NODE_TLS_REJECT_UNAUTHORIZED=0", "NODE_NO_WARNINGS=1")
			return c
		}},
		{"curl", func(url string) *exec.Cmd {
			// One curl process, n transfers, each on a fresh connection.
			args := []string{"-sk", "--no-keepalive"}
			body := filepath.Join(t.TempDir(), "body")
			if err := os.WriteFile(body, bytes.Repeat([]byte("x"), oversized), 0o600); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if i > 0 {
					args = append(args, "--next", "-sk")
				}
				args = append(args, "-X", "POST", "-H", "Content-Type: application/json", "--http1.1",
					"--data-binary", "@"+body, "-w", `\n{"status":%{http_code}}\n`, url)
			}
			return exec.Command("curl", args...)
		}},
	}
	for _, bin := range []string{"python3", "node", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%v (scripts/test-deps.sh installs it)", err)
		}
	}

	a, viaTunnel := startTunnelledAgent(t)
	for _, base := range []struct{ name, url string }{
		{"direct", "https://" + a.api},
		{"tunnel", "http://" + viaTunnel},
	} {
		url := base.url + "/cic/v1"
		for _, c := range clients {
			t.Run(base.name+"/"+c.name, func(t *testing.T) {
				cmd := c.cmd(url)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%v: %v\n%s", cmd.Args[:2], err, stderr.String())
				}
				var got []attempt
				if c.name == "curl" {
					got = parseCurl(t, out)
				} else {
					got = parseLines(t, out)
				}
				checkAll413(t, got, n)
			})
		}
		t.Run(base.name+"/go net/http", func(t *testing.T) {
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
				DisableKeepAlives: true,
			}}
			var got []attempt
			for range n {
				resp, err := hc.Post(url, "application/json", bytes.NewReader(bytes.Repeat([]byte("x"), oversized)))
				if err != nil {
					got = append(got, attempt{Error: err.Error()})
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got = append(got, attempt{Status: resp.StatusCode, Body: string(b)})
			}
			checkAll413(t, got, n)
		})
	}
}

// TestSlowBodyCannotHoldConnectionPastLingerBound answers an oversized
// request, then trickles the body: the agent must close the connection once
// the linger time is up, far sooner than its 30 s read timeout.
func TestSlowBodyCannotHoldConnectionPastLingerBound(t *testing.T) {
	t.Parallel()
	a, viaTunnel := startTunnelledAgent(t)
	for _, tc := range []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"direct", func() (net.Conn, error) {
			return tls.Dial("tcp", a.api, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		}},
		{"tunnel", func() (net.Conn, error) { return net.Dial("tcp", viaTunnel) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tc.dial()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /cic/v1 HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 100<<20)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer before the body: %v", err)
			}
			answered := time.Now()
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
				t.Fatalf("answer %d, close %v; want 413 and Connection: close", resp.StatusCode, resp.Close)
			}
			// Trickle one byte every 50 ms until the agent hangs up; the read
			// side sees the close (EOF, or a reset once writes hit it).
			closed := make(chan time.Time, 1)
			go func() {
				io.Copy(io.Discard, br)
				closed <- time.Now()
			}()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			limit := time.After(cloudlink.LingerMaxTime + 8*time.Second)
			for {
				select {
				case at := <-closed:
					if held := at.Sub(answered); held > cloudlink.LingerMaxTime+3*time.Second {
						t.Fatalf("connection held %v after the answer; bound %v", held, cloudlink.LingerMaxTime)
					}
					return
				case <-limit:
					t.Fatalf("connection still open %v after the answer", time.Since(answered))
				case <-tick.C:
					conn.Write([]byte("x")) //nolint:errcheck // fails once the agent has closed
				}
			}
		})
	}
}

func parseLines(t *testing.T, out []byte) []attempt {
	t.Helper()
	var got []attempt
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a attempt
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("client printed %q: %v", line, err)
		}
		got = append(got, a)
	}
	return got
}

// parseCurl splits curl's output: each transfer prints the answer's body,
// then the -w line with the status.
func parseCurl(t *testing.T, out []byte) []attempt {
	t.Helper()
	var got []attempt
	var body strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		var st struct{ Status int }
		if strings.HasPrefix(line, `{"status":`) && json.Unmarshal([]byte(line), &st) == nil {
			a := attempt{Status: st.Status, Body: body.String()}
			if st.Status == 0 {
				a.Error = "curl: no answer"
			}
			got = append(got, a)
			body.Reset()
			continue
		}
		body.WriteString(line)
	}
	return got
}

// checkAll413 wants n attempts, each a 413 carrying the profile's
// ErrorResponse with INVALID_REQUEST.
func checkAll413(t *testing.T, got []attempt, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d attempts reported, want %d: %+v", len(got), n, got)
	}
	bad := 0
	for i, a := range got {
		var env struct {
			Header struct {
				Name           string `json:"name"`
				PayloadVersion string `json:"payloadVersion"`
			} `json:"header"`
			Payload struct {
				ErrorCode string `json:"errorCode"`
			} `json:"payload"`
		}
		err := json.Unmarshal([]byte(a.Body), &env)
		if a.Error != "" || a.Status != http.StatusRequestEntityTooLarge || err != nil ||
			env.Header.Name != "ErrorResponse" || env.Payload.ErrorCode != "INVALID_REQUEST" {
			bad++
			if bad <= 3 {
				t.Errorf("attempt %d: status %d, error %q, body %.200q", i+1, a.Status, a.Error, a.Body)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d attempts did not read the 413 ErrorResponse", bad, n)
	}
}

// startTunnelledAgent runs the agent with a tunnel to a real sshd and
// returns it with the relay's forwarded address, once connected.
func startTunnelledAgent(t *testing.T) (*agent, string) {
	t.Helper()
	relay := tunneltest.StartSSHD(t, "")
	dir := t.TempDir()
	remote := freePort(t)
	cfg := filepath.Join(dir, "hubagent.toml")
	doc := fmt.Sprintf("data_dir = %q\n[tunnel]\nrelay = %q\nuser = %q\nhost_key = %q\nremote_listen = %q\n",
		filepath.Join(dir, "data"), relay.Addr, relay.User, relay.HostKeyLine(), remote)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	line, stderr, code := hubagent(t, dir, "tunnel", "pubkey", "--config", cfg)
	if code != 0 {
		t.Fatalf("tunnel pubkey: exit %d: %s", code, stderr)
	}
	relay.SetAuthorizedKeys(line)
	a := startAgent(t, dir, "--config", cfg)
	a.healthz(t, 15*time.Second)
	testutil.Eventually(t, 20*time.Second, "tunnel connected", func() bool {
		out, _, code := hubagent(t, dir, "tunnel", "status", "--json", "--config", cfg)
		var st tunnel.Status
		return code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.State == tunnel.StateConnected
	})
	return a, remote
}
