package localbus

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// BenchmarkIngest measures state messages for 1,000 devices through the
// MQTT client → hub → store, against a bare paho subscriber on the same
// broker in the same run. Each phase publishes b.N QoS 0 messages (three rounds, alternating, best kept) from a
// publisher client and times until all are seen (by the bare subscriber,
// or by the hub's report counter). Reported: updates/s of the hub path,
// the bare subscriber's msgs/s, their ratio (target ≥ 0.8), and the
// allocations per message the hub path adds over the bare one. Run as
//
//	go test -run '^$' -bench Ingest -benchtime 50000x ./internal/localbus/
func BenchmarkIngest(b *testing.B) {
	const devices = 1000
	// Unlimited queues: QoS 0 messages to a busy subscriber must not be
	// dropped by the broker, or neither side would ever see all of them.
	broker := testutil.StartMosquitto(b, "max_queued_messages 0")
	r := newRig(b, broker, b.TempDir(), rigOptions{writer: store.WriterOptions{Window: 200 * time.Millisecond}})
	for i := range devices {
		r.publish(fmt.Sprintf("homeassistant/sensor/bench%d/temperature/config", i),
			fmt.Sprintf(`{"name":"T%d","device_class":"temperature","unit_of_measurement":"°C","state_topic":"bench/%d/state",`+
				`"value_template":"{{ value_json.temperature }}","unique_id":"bench%d"}`, i, i, i), true)
	}
	testutil.Eventually(b, 60*time.Second, "1,000 devices", func() bool { return r.hub.Len() >= devices })
	// Every state topic subscribed: one message per device is seen.
	for i := range devices {
		r.dev.Publish(fmt.Sprintf("bench/%d/state", i), 0, false, `{"temperature":0}`)
	}
	testutil.Eventually(b, 30*time.Second, "subscriptions", func() bool { return r.hub.Stats().Reports >= devices })

	var bareSeen atomic.Uint64
	bare := connectClient(b, broker, "bench-bare")
	if tok := bare.Subscribe("bare/+/state", 0, func(paho.Client, paho.Message) { bareSeen.Add(1) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	pub := connectClient(b, broker, "bench-pub")
	n := b.N

	// run publishes n messages on prefix/<device>/state and waits until
	// seen() has grown by n; it returns the elapsed time and mallocs.
	run := func(prefix string, seen func() uint64, round int) (time.Duration, uint64) {
		topics := make([]string, devices)
		for i := range topics {
			topics[i] = prefix + "/" + strconv.Itoa(i) + "/state"
		}
		payloads := make([][]byte, n)
		for i := range payloads {
			// A new value each time, so every message is a real update.
			payloads[i] = []byte(`{"temperature":` + strconv.Itoa(round*n+i+1) + `.5,"linkquality":80}`)
		}
		var ms0, ms1 runtime.MemStats
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		start0 := seen()
		t0 := time.Now()
		var last paho.Token
		for i := range n {
			last = pub.Publish(topics[i%devices], 0, false, payloads[i])
		}
		last.WaitTimeout(60 * time.Second)
		deadline := time.Now().Add(120 * time.Second)
		for seen()-start0 < uint64(n) {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d of %d messages seen", prefix, seen()-start0, n)
			}
			time.Sleep(200 * time.Microsecond) // finer than testutil.Poll: the wait is part of the measured time
		}
		d := time.Since(t0)
		runtime.ReadMemStats(&ms1)
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		b.Logf("%s: %v wall, %v CPU in this process", prefix, d, cpu)
		return d, ms1.Mallocs - ms0.Mallocs
	}

	// Alternate the phases a few rounds and keep each one's best: the
	// machine is shared, and one slow phase says more about the neighbours
	// than about either path.
	b.ResetTimer()
	const rounds = 3
	var bareD, hubD time.Duration
	var bareAllocs, hubAllocs uint64
	for round := range rounds {
		d, a := run("bare", bareSeen.Load, 2*round+1)
		if round == 0 || d < bareD {
			bareD, bareAllocs = d, a
		}
		d, a = run("bench", func() uint64 { return r.hub.Stats().Reports }, 2*round+2)
		if round == 0 || d < hubD {
			hubD, hubAllocs = d, a
		}
	}
	b.StopTimer()
	if err := r.hub.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}

	bareRate := float64(n) / bareD.Seconds()
	hubRate := float64(n) / hubD.Seconds()
	b.ReportMetric(hubRate, "updates/s")
	b.ReportMetric(bareRate, "bare_msgs/s")
	b.ReportMetric(hubRate/bareRate, "ratio")
	extra := (float64(hubAllocs) - float64(bareAllocs)) / float64(n)
	b.ReportMetric(extra, "allocs/msg")
	b.ReportMetric(0, "ns/op") // the figures above are the result; ns/op mixes both phases
}

// BenchmarkStatePath is the client's own share of BenchmarkIngest without
// the network: one state message decoded and reported to the hub (and on
// to the store writer), per op.
func BenchmarkStatePath(b *testing.B) {
	broker := testutil.StartMosquitto(b)
	r := newRig(b, broker, b.TempDir(), rigOptions{writer: store.WriterOptions{Window: 200 * time.Millisecond}})
	const devices = 100
	for i := range devices {
		r.publish(fmt.Sprintf("homeassistant/sensor/sp%d/temperature/config", i),
			fmt.Sprintf(`{"name":"T%d","device_class":"temperature","unit_of_measurement":"°C","state_topic":"sp/%d/state",`+
				`"value_template":"{{ value_json.temperature }}","unique_id":"sp%d"}`, i, i, i), true)
	}
	testutil.Eventually(b, 30*time.Second, "devices", func() bool { return r.hub.Len() >= devices })
	topics := make([]string, devices)
	for i := range topics {
		topics[i] = "sp/" + strconv.Itoa(i) + "/state"
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.mq.disc.message(topics[i%devices], []byte(`{"temperature":`+strconv.Itoa(i)+`.5,"linkquality":80}`))
	}
}
