package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// agentProc is the hubagent under test: its binary, data directory,
// config, and the running process (nil while stopped).
type agentProc struct {
	bin     string
	dir     string // data directory and working directory
	config  string
	api     string // HTTPS host:port
	mqttArg []string
	env     []string // extra HUBAGENT_* settings of every start
	p       *proc
	sock    *http.Client // the local control socket, for /metrics
}

// agentConfig is the agent's config file for a run: rate limits out of
// the way (the query scenario measures the agent, not the limiter),
// commands confirmed within the default timeout, no mDNS on the
// machine's interfaces, the partners' CA trusted for notifications, and
// with the embedded broker, queues for slow clients as unlimited as the
// mosquitto of a run with it (the ingest publisher runs up to ingestWindow
// messages ahead of the bare baseline subscriber).
func agentConfig(broker, caFile string) string {
	return fmt.Sprintf(`[log]
level = "warn"

[api]
rate_limit = 1000000
rate_burst = 1000000

[mqtt]
broker = %q
max_pending_writes = 65535

[mdns]
enabled = false

[notify]
ca_file = %q
`, broker, caFile)
}

func newAgentProc(bin, dir, broker, mqttListen, caFile string) (*agentProc, error) {
	a := &agentProc{bin: bin, dir: dir, config: filepath.Join(dir, "hubagent.toml")}
	if err := os.WriteFile(a.config, []byte(agentConfig(broker, caFile)), 0o600); err != nil {
		return nil, fmt.Errorf("write agent config: %w", err)
	}
	if mqttListen != "" {
		a.mqttArg = []string{"--mqtt-listen", mqttListen}
	}
	sockPath := filepath.Join(dir, "hubagent.sock")
	a.sock = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sockPath)
		}}}
	return a, nil
}

// env is the agent's environment: the caller's without HUBAGENT_*
// variables (an operator's settings must not leak into the run), plus extra.
func agentEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUBAGENT_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cli runs one hubagent command against the run's data dir and config.
func (a *agentProc) cli(ctx context.Context, stdin string, args ...string) (string, error) {
	full := append(args, "--config", a.config, "--data", a.dir)
	cmd := exec.CommandContext(ctx, a.bin, full...)
	cmd.Dir = a.dir
	cmd.Env = agentEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hubagent %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// start runs `hubagent run` and returns how long it took until /healthz
// answered 200.
func (a *agentProc) start(ctx context.Context, extraEnv ...string) (time.Duration, error) {
	if a.api == "" {
		addr, err := freeAddr()
		if err != nil {
			return 0, err
		}
		a.api = addr
	}
	args := append([]string{"run", "--config", a.config, "--data", a.dir, "--api-listen", a.api}, a.mqttArg...)
	t0 := time.Now()
	p, err := startProc("hubagent", a.bin, a.dir, agentEnv(append(append([]string(nil), a.env...), extraEnv...)...), args...)
	if err != nil {
		return 0, err
	}
	a.p = p
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the agent's self-signed loopback certificate
	defer hc.CloseIdleConnections()
	deadline := t0.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get("https://" + a.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(t0), nil
			}
		}
		if p.exited() {
			return 0, p.errorf("exited before serving /healthz")
		}
		// Short polls: the cold start figure is only as fine as this.
		if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return 0, p.errorf("no /healthz answer within 30s")
}

// stop ends the agent with SIGTERM (as a service manager would).
func (a *agentProc) stop() {
	if a.p != nil {
		a.p.stop(15 * time.Second)
		a.p = nil
	}
}

// metrics reads the agent's unlabelled Prometheus series from /metrics on
// the local socket.
func (a *agentProc) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://hubagent/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.sock.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("agent metrics: HTTP %d: %s", resp.StatusCode, b)
	}
	return parseMetrics(resp.Body)
}

// metric reads one series, 0 when absent.
func (a *agentProc) metric(ctx context.Context, name string) (float64, error) {
	m, err := a.metrics(ctx)
	if err != nil {
		return 0, err
	}
	return m[name], nil
}

// parseMetrics reads the Prometheus text format, keeping series without
// labels (the counters hubbench needs have none).
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(val)[0], 64)
		if err != nil {
			continue
		}
		out[name] = f
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// waitMetric polls a metric until ok holds for its value.
func (a *agentProc) waitMetric(ctx context.Context, name, what string, within time.Duration, ok func(float64) bool) error {
	deadline := time.Now().Add(within)
	var v float64
	for time.Now().Before(deadline) {
		var err error
		if v, err = a.metric(ctx, name); err == nil && ok(v) {
			return nil
		}
		if a.p.exited() {
			return a.p.errorf("exited while waiting for %s", what)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("waiting for %s: %s = %v after %v: %w", what, name, v, within, errStalled)
}
