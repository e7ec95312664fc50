package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel/tunneltest"
	"github.com/hubagent/hubagent/internal/enrollwire"
	"github.com/hubagent/hubagent/internal/testutil"
)

// BenchmarkRelayCapacity puts N simulated hubs (the hub's own tunnel code:
// SSH clients holding a remote forward, with keepalives) on one real sshd
// with the packaged relay drop-in, behind the real nginx with the packaged
// block, and measures what a relay pays per hub:
//
//   - sshd memory per hub: RSS and PSS summed over sshd's processes, with
//     N hubs minus with none, divided by N;
//   - sshd CPU per keepalive exchange while idle (keepalive shortened to
//     KeepaliveBench so the window holds enough of them to measure);
//   - requests/s through nginx -> sshd -> hub with 1 % of the hubs busy,
//     against the same handler served directly (the same run's baseline).
//
// HUBAGENT_RELAY_BENCH_HUBS sets N (default 300, sized for 2 cores).
// Run: go test ./internal/relay -run '^$' -bench RelayCapacity -benchtime 2000x
func BenchmarkRelayCapacity(b *testing.B) {
	n := 300
	if v, err := strconv.Atoi(os.Getenv("HUBAGENT_RELAY_BENCH_HUBS")); err == nil && v > 0 {
		n = v
	}
	busy := max(1, n/100)
	const keepaliveBench = 2 * time.Second
	const idleWindow = 10 * time.Second

	signers := make([]ssh.Signer, n)
	hubs := make([]Hub, n)
	lines := make([]string, n)
	// Hubs log in as an unprivileged user, as on a real relay (sshd runs
	// no privilege-separated child for root logins).
	sshd := tunneltest.StartSSHDAs(b, "", "nobody")
	base := procMem(sshd.PIDs())

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"header":{"name":"QueryStatusResponse"},"payload":{"devices":[]}}`)
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	tuns := make([]*tunnel.Tunnel, n)
	stops := make([]context.CancelFunc, n)
	// assign gives hub i a port free right now and lets its key listen
	// there (sshd reads authorized_keys at each login). Ports are picked
	// just before use: other tests on this machine take ports too.
	assign := func(i int) {
		_, p, _ := net.SplitHostPort(testutil.FreeAddr(b))
		port, _ := strconv.Atoi(p)
		id := fmt.Sprintf("%016x", i+1)
		hubs[i] = Hub{ID: id, Port: port, PublicName: publicName(id, "bench.relay.test")}
		lines[i] = fmt.Sprintf(`restrict,port-forwarding,permitlisten="127.0.0.1:%d" %s hubagent-%s`,
			port, enrollwire.KeyString(signers[i].PublicKey()), id)
	}
	start := func(i int) {
		t, err := tunnel.New(tunnel.Options{Relay: sshd.Addr, User: sshd.User, HostKey: sshd.HostKeyLine(),
			RemoteListen: "127.0.0.1:" + strconv.Itoa(hubs[i].Port), Signer: signers[i], Handler: handler,
			KeepaliveInterval: keepaliveBench, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		tctx, stop := context.WithCancel(ctx)
		tuns[i], stops[i] = t, stop
		wg.Go(func() { t.Run(tctx) }) //nolint:errcheck // Run returns nil
	}
	// Connect in batches: sshd's MaxStartups drops bursts of unauthenticated
	// connections, as it should on a real relay.
	const batch = 8
	for first := 0; first < n; first += batch {
		last := min(n, first+batch)
		for i := first; i < last; i++ {
			signers[i] = newSigner(b)
			assign(i)
		}
		sshd.SetAuthorizedKeys(strings.Join(lines[:last], "\n") + "\n")
		for i := first; i < last; i++ {
			start(i)
		}
		deadline := time.Now().Add(30 * time.Second)
		for i := first; i < last; i++ {
			for retried := false; tuns[i].Status().State != tunnel.StateConnected; {
				if st := tuns[i].Status(); !retried && st.Sessions == 0 && st.LastError != "" && strings.Contains(st.LastError, "refused to listen") {
					// The port was taken meanwhile by someone else: another one.
					stops[i]()
					assign(i)
					sshd.SetAuthorizedKeys(strings.Join(lines[:last], "\n") + "\n")
					start(i)
					retried = true
				}
				if time.Now().After(deadline) {
					b.Fatalf("hub %d not connected: %+v\n%s", i, tuns[i].Status(), lastLines(sshd.Logs(), 20))
				}
				time.Sleep(10 * time.Millisecond) // polls the status and retries a taken port, which testutil.Poll cannot
			}
		}
	}
	tlsFiles := testutil.NewTLS(b, "bench.relay.test", "*.bench.relay.test", "127.0.0.1")
	dir := b.TempDir()
	m, u := RenderNginx(hubs)
	if err := os.WriteFile(filepath.Join(dir, "enrolled.map"), m, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "enrolled.upstreams"), u, 0o644); err != nil {
		b.Fatal(err)
	}
	httpsAddr := testutil.FreeAddr(b)
	ngx := testutil.StartNginx(b, testutil.RelayNginxConf(b, httpsAddr, "bench.relay.test", tlsFiles.CertFile, tlsFiles.KeyFile, dir,
		testutil.FreeAddr(b)), httpsAddr)

	time.Sleep(time.Second) // let sessions settle before measuring
	pids := sshd.PIDs()
	full := procMem(pids)
	cpu0 := cpuNanos(pids)
	time.Sleep(idleWindow) // the measurement window
	cpu1 := cpuNanos(pids)
	exchanges := float64(n) * idleWindow.Seconds() / keepaliveBench.Seconds()
	cpuPerKeepalive := float64(cpu1-cpu0) / 1e3 / exchanges // µs
	ngxMem := procMem(ngx.PIDs())
	rssPerHub := float64(full.rss-base.rss) / float64(n)
	pssPerHub := float64(full.pss-base.pss) / float64(n)
	procsPerHub := float64(len(pids)-1) / float64(n)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: tlsFiles.Pool}, MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, httpsAddr)
		}}}
	defer client.CloseIdleConnections()
	direct := httptest.NewServer(handler)
	defer direct.Close()
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer plain.CloseIdleConnections()
	fetch := func(b *testing.B, url string) {
		c := client
		if strings.HasPrefix(url, "http:") {
			c = plain
		}
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
	}
	rate := func(b *testing.B, url func(i int) string) float64 {
		const workers = 8
		fetch(b, url(0))
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				for i := w; i < b.N; i += workers {
					fetch(b, url(i))
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		return float64(b.N) / time.Since(start).Seconds()
	}
	var directRate float64
	b.Run("direct", func(b *testing.B) {
		directRate = rate(b, func(int) string { return direct.URL + "/cic/v1" })
		b.ReportMetric(directRate, "req/s")
	})
	b.Run("forward-no-keepalive", func(b *testing.B) {
		plain.Transport.(*http.Transport).DisableKeepAlives = true
		defer func() { plain.Transport.(*http.Transport).DisableKeepAlives = false }()
		b.ReportMetric(rate(b, func(i int) string { return "http://127.0.0.1:" + strconv.Itoa(hubs[0].Port) + "/cic/v1" }), "req/s")
	})
	b.Run(fmt.Sprintf("relay-%dhubs-%dbusy", n, busy), func(b *testing.B) {
		r := rate(b, func(i int) string { return "https://" + hubs[(i%busy)*(n/busy)].PublicName + "/cic/v1" })
		b.ReportMetric(r, "req/s")
		if directRate > 0 {
			b.ReportMetric(r/directRate, "x-direct")
		}
		b.ReportMetric(rssPerHub/1024, "sshd-rss-MiB/hub")
		b.ReportMetric(pssPerHub/1024, "sshd-pss-MiB/hub")
		b.ReportMetric(procsPerHub, "sshd-procs/hub")
		b.ReportMetric(float64(ngxMem.pss)/float64(n), "nginx-pss-KiB/hub")
		b.ReportMetric(cpuPerKeepalive, "sshd-cpu-µs/keepalive")
	})
	for i, t := range tuns {
		if st := t.Status(); st.Reconnects > 0 {
			b.Logf("hub %d reconnected %d times during the run (%s)", i, st.Reconnects, st.LastError)
		}
	}
}

type mem struct{ rss, pss int64 } // KiB

// procMem sums VmRSS and Pss (smaps_rollup) over pids.
func procMem(pids []int) mem {
	var m mem
	for _, p := range pids {
		m.rss += procField(fmt.Sprintf("/proc/%d/status", p), "VmRSS:")
		m.pss += procField(fmt.Sprintf("/proc/%d/smaps_rollup", p), "Pss:")
	}
	return m
}

func procField(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == key {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

// cpuNanos sums the time on CPU of pids (schedstat: nanoseconds, where
// /proc/pid/stat counts 10 ms ticks, too coarse for idle keepalives).
func cpuNanos(pids []int) int64 {
	var sum int64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", p))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return sum
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
