package tunnel_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel/tunneltest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// BenchmarkTunnel compares /healthz through the relay's forwarded port
// (hub → sshd → forwarded channel → handler) with the same handler served
// directly on loopback (the LAN listener without TLS), in the same run:
// sequential latency and throughput with 8 concurrent clients, and their
// ratios.
func BenchmarkTunnel(b *testing.B) {
	key := hubKey(b)
	remote := testutil.FreeAddr(b)
	relay := tunneltest.StartSSHD(b, authLine(key, remote))
	opts := fastOptions(b, relay.Addr, relay.User, relay.HostKeyLine(), remote, key)
	opts.Logger = nil
	tun := runTunnel(b, opts)
	waitFor(b, tun, 15*time.Second, "connected", isConnected)
	lan := httptest.NewServer(testHandler("hub-test"))
	defer lan.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	fetch := func(url string) {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
	}
	sequential := func(url string) time.Duration {
		fetch(url) // warm the connection
		start := time.Now()
		for range b.N {
			fetch(url)
		}
		return time.Since(start) / time.Duration(b.N)
	}
	parallel := func(url string) float64 {
		const workers = 8
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				for i := w; i < b.N; i += workers {
					fetch(url)
				}
			})
		}
		wg.Wait()
		return float64(b.N) / time.Since(start).Seconds()
	}
	lanURL, tunURL := lan.URL+"/healthz", "http://"+remote+"/healthz"

	b.ResetTimer()
	lanLat, tunLat := sequential(lanURL), sequential(tunURL)
	lanRate, tunRate := parallel(lanURL), parallel(tunURL)
	b.StopTimer()

	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(lanLat), "lan-µs/req")
	b.ReportMetric(us(tunLat), "tunnel-µs/req")
	b.ReportMetric(us(tunLat-lanLat), "added-µs/req")
	b.ReportMetric(float64(tunLat)/float64(lanLat), "latency-x-lan")
	b.ReportMetric(lanRate, "lan-req/s")
	b.ReportMetric(tunRate, "tunnel-req/s")
	b.ReportMetric(tunRate/lanRate, "throughput-x-lan")
}
