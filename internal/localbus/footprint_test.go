package localbus

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

func heapStats() runtime.MemStats {
	runtime.GC()
	runtime.GC() // the first cycle's finalizers and sweeps settle in the second
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// footprint is what announcing devices cost, per device: the Go heap kept
// once they are built, what the burst allocated on the way, and the
// unused rest of the spans the kept objects hold (fragmentation: the
// burst's garbage was interleaved with them, and Go does not compact).
type footprint struct{ kept, allocated, unused float64 }

// heapPerDevice announces n of hubbench's Zigbee2MQTT lights to a fresh
// client (config, then one state report each, handed over as paho's
// handler does) and measures the Go heap the client and the hub keep per
// device once built: discovery entity, binding, tracked device, routes,
// the hub's device and its state.
func heapPerDevice(tb testing.TB, n int) footprint {
	broker := testutil.StartMosquitto(tb)
	r := newRig(tb, broker, "", rigOptions{writer: store.WriterOptions{Window: 200 * time.Millisecond}})
	ctx := context.Background()
	before := heapStats()
	for i := range n {
		r.mq.disc.handle(ctx, fmt.Sprintf("homeassistant/light/zl%d/light/config", i), []byte(z2mLightConfig(i)))
	}
	testutil.Eventually(tb, 60*time.Second, "devices built", func() bool { return r.hub.Len() >= n })
	testutil.Eventually(tb, 30*time.Second, "routes", func() bool {
		r.mq.disc.procMu.RLock()
		defer r.mq.disc.procMu.RUnlock()
		return len(r.mq.disc.routes) >= n
	})
	reports0 := r.hub.Stats().Reports
	for i := range n {
		r.mq.disc.message("zl/"+strconv.Itoa(i), []byte(`{"state":"ON","brightness":`+strconv.Itoa(i%100+1)+`,"linkquality":90}`))
	}
	testutil.Eventually(tb, 30*time.Second, "state reported", func() bool { return r.hub.Stats().Reports-reports0 >= uint64(n) })
	if err := r.hub.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	// The state writer gives its burst buffers back a second after it
	// idles (store's trimAfter): what is measured is what stays after.
	time.Sleep(1500 * time.Millisecond)
	after := heapStats()
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	runtime.KeepAlive(r)
	return footprint{
		kept:      per(after.HeapAlloc, before.HeapAlloc),
		allocated: per(after.TotalAlloc, before.TotalAlloc),
		unused:    per(after.HeapInuse-after.HeapAlloc, before.HeapInuse-before.HeapAlloc),
	}
}

// BenchmarkDeviceFootprint reports the Go heap kept per device at 1,000
// of hubbench's lights (the figure behind the per-device row of the memory
// budget in docs/performance.md). Run as
//
//	go test -run '^$' -bench DeviceFootprint -benchtime 1x ./internal/localbus/
func BenchmarkDeviceFootprint(b *testing.B) {
	for range b.N {
		f := heapPerDevice(b, 1000)
		b.ReportMetric(f.kept, "heapB/device")
		b.ReportMetric(f.allocated, "allocB/device")
		b.ReportMetric(f.unused, "unusedB/device")
	}
	b.ReportMetric(0, "ns/op")
}

// The heap kept per device stays compact: 3.7-3.8 KB per light, where it
// was 5.3-5.4 KB (the entity's and binding's spare copies and maps, and
// the state writer's start-up burst buffers, kept for the agent's life).
func TestDeviceHeapIsCompact(t *testing.T) {
	if testing.Short() {
		t.Skip("announces 1,000 devices")
	}
	f := heapPerDevice(t, 1000)
	t.Logf("per device: Go heap kept %.0f B, allocated by the burst %.0f B, unused rest of spans %.0f B", f.kept, f.allocated, f.unused)
	if f.kept > maxHeapPerDevice {
		t.Errorf("the client and hub keep %.0f B of Go heap per device; want ≤ %d", f.kept, maxHeapPerDevice)
	}
}

const maxHeapPerDevice = 4400
