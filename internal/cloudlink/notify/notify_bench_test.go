package notify

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// BenchmarkNotify pushes state changes at 1,000/s spread over 1,000
// devices to 3 subscribed partners (HTTPS, client-credentials tokens) with
// the agent's default 200 ms coalescing window, and reports delivery
// latency (report → partner receipt) p50/p99, delivered events/s, and as
// baseline the bare ingest rate of the same hub (ReportState + commit, no
// subscribers) measured in the same run.
func BenchmarkNotify(b *testing.B) {
	const devices, partners, rate = 1000, 3, 1000
	ctx := context.Background()

	// Baseline: bare ingest with nobody subscribed.
	base := newEnv(b, "", fixedPartners{}, "", 200*time.Millisecond)
	for i := 0; i < devices; i++ {
		base.hub.UpsertDevice(ctx, lamp(fmt.Sprintf("d%04d", i)))
	}
	start := time.Now()
	const baseN = 20000
	for i := 0; i < baseN; i++ {
		base.hub.ReportState(fmt.Sprintf("d%04d", i%devices), map[string]device.Value{"brightness": device.Int(int64(i % 101))}, time.Now())
	}
	base.hub.Flush(ctx)
	bareRate := baseN / time.Since(start).Seconds()

	ps := make([]*partnerServer, partners)
	parts := fixedPartners{}
	for i := range ps {
		ps[i] = newPartner(b)
		id := fmt.Sprintf("P%d", i)
		pa := partnerA(ps[i])
		pa.ClientID = id
		parts[id] = pa
	}
	e := newEnv(b, "", parts, ps[0].caFile, 200*time.Millisecond)
	// Each partner server has its own certificate; trust them all.
	for _, p := range ps[1:] {
		e.n.roots.AddCert(p.srv.Certificate())
	}
	for i := 0; i < devices; i++ {
		e.hub.UpsertDevice(ctx, lamp(fmt.Sprintf("d%04d", i)))
	}
	for i := range ps {
		c := cic.Caller{ClientID: fmt.Sprintf("P%d", i), UserID: "u", GrantID: fmt.Sprintf("g%d", i)}
		e.subscribe(b, c, ps[i].url("/notify"), EventStatusChanged)
	}
	n := max(b.N, 2000)
	b.ResetTimer()
	start = time.Now()
	tick := time.NewTicker(time.Second / rate)
	for i := 0; i < n; i++ {
		<-tick.C
		e.hub.ReportState(fmt.Sprintf("d%04d", i%devices), map[string]device.Value{"brightness": device.Int(int64(i/devices%100 + 1))}, time.Now())
	}
	tick.Stop()
	e.hub.Flush(ctx)
	// Wait for every partner to have received every device's last value;
	// changes may be coalesced, but a last value missing is lost work.
	want := map[string]float64{}
	for i := n - devices; i < n; i++ {
		want[fmt.Sprintf("d%04d", i%devices)] = float64(i/devices%100 + 1)
	}
	var lat []float64
	events, missing := 0, 0
	testutil.Poll(60*time.Second, func() bool {
		lat, events, missing = lat[:0], 0, 0
		for _, p := range ps {
			type seen struct{ seq, brightness float64 }
			last := map[string]seen{}
			for _, r := range p.got() {
				for _, ev := range r.Payload["events"].([]any) {
					ev := ev.(map[string]any)
					events++
					lat = append(lat, float64(r.At.UnixMilli()-int64(ev["timestamp"].(float64))))
					id, _ := ev["deviceId"].(string)
					seq, _ := ev["sequence"].(float64)
					st, _ := ev["state"].(map[string]any)
					if br, ok := st["brightness"].(float64); ok && seq >= last[id].seq {
						last[id] = seen{seq, br}
					}
				}
			}
			for id, v := range want {
				if last[id].brightness != v {
					missing++
				}
			}
		}
		return missing == 0 && e.n.Backlog(ctx) == 0
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if missing > 0 {
		b.Fatalf("%d of %d devices' last values never reached their partner (%d events delivered)", missing, devices*partners, events)
	}
	sort.Float64s(lat)
	if len(lat) == 0 {
		b.Fatal("nothing delivered")
	}
	posts := 0
	for _, p := range ps {
		posts += len(p.got())
	}
	b.ReportMetric(float64(events)/float64(posts), "events/POST")
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
	b.ReportMetric(float64(events)/elapsed.Seconds(), "delivered-events/s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "changes/s")
	b.ReportMetric(bareRate, "bare-ingest-updates/s")
	b.ReportMetric(float64(n)/elapsed.Seconds()/bareRate, "offered/bare-ratio")
}
