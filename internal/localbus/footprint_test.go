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

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC() // the first cycle's finalizers and sweeps settle in the second
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// heapPerDevice announces n of hubbench's Zigbee2MQTT lights to a fresh
// client (config, then one state report each, handed over as paho's
// handler does) and returns the Go heap the client and the hub keep per
// device once built: discovery entity, binding, tracked device, routes,
// the hub's device and its state.
func heapPerDevice(tb testing.TB, n int) float64 {
	broker := testutil.StartMosquitto(tb)
	r := newRig(tb, broker, "", rigOptions{writer: store.WriterOptions{Window: 200 * time.Millisecond}})
	ctx := context.Background()
	before := heapAlloc()
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
	// The writer gives its burst buffers back a second after it idles.
	var per float64
	testutil.Poll(3*time.Second, func() bool {
		per = (float64(heapAlloc()) - float64(before)) / float64(n)
		return false
	})
	runtime.KeepAlive(r)
	return per
}

// BenchmarkDeviceFootprint reports the Go heap kept per device at 1,000
// of hubbench's lights (the figure behind the per-device row of the memory
// budget in docs/performance.md). Run as
//
//	go test -run '^$' -bench DeviceFootprint -benchtime 1x ./internal/localbus/
func BenchmarkDeviceFootprint(b *testing.B) {
	for range b.N {
		b.ReportMetric(heapPerDevice(b, 1000), "heapB/device")
	}
	b.ReportMetric(0, "ns/op")
}

// The heap kept per device stays compact: before the compact
// representation it was ~4.3 KB per light.
func TestDeviceHeapIsCompact(t *testing.T) {
	if testing.Short() {
		t.Skip("announces 1,000 devices")
	}
	per := heapPerDevice(t, 1000)
	t.Logf("Go heap kept per device: %.0f B", per)
	if per > maxHeapPerDevice {
		t.Errorf("the client and hub keep %.0f B of Go heap per device; want ≤ %d", per, maxHeapPerDevice)
	}
}

const maxHeapPerDevice = 5000
