package notify

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

// BenchmarkOutboxWindow is the notifier's share of hubbench's ingest
// scenario: per op, one coalescing window's batch (one change on each of
// 1,000 devices) handed over by the state writer, turned into events for
// 3 subscribed partners, appended to the memory outbox, delivered (HTTPS,
// HMAC-signed, to sinks that only read the body) and acknowledged.
// Reported: CPU per event (the whole process, the sinks included) besides
// ns/op and allocs/op.
func BenchmarkOutboxWindow(b *testing.B) {
	const devices, partners = 1000, 3
	ctx := context.Background()
	parts := fixedPartners{}
	var sinks []*httptest.Server
	for i := range partners {
		s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) //nolint:errcheck // a sink
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(s.Close)
		sinks = append(sinks, s)
		id := fmt.Sprintf("P%d", i)
		parts[id] = Partner{ClientID: id, Name: id, CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true, HMACSecret: "s3cret-" + id}
	}
	caFile := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sinks[0].Certificate().Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, "", parts, caFile, 200*time.Millisecond)
	for _, s := range sinks[1:] {
		e.n.roots.AddCert(s.Certificate())
	}
	for i := range devices {
		e.hub.UpsertDevice(ctx, lamp(fmt.Sprintf("d%04d", i)))
	}
	for i, s := range sinks {
		c := cic.Caller{ClientID: fmt.Sprintf("P%d", i), UserID: "u", GrantID: fmt.Sprintf("g%d", i)}
		e.subscribe(b, c, s.URL+"/notify", EventStatusChanged)
	}
	batch := make([]store.Change, devices)
	window := func(round int) {
		now := time.Now()
		for i := range batch {
			batch[i] = store.Change{DeviceID: fmt.Sprintf("d%04d", i), Property: "brightness", Value: device.Int(int64(round%100 + 1)), At: now}
		}
		want := e.n.Stats().Delivered + devices*partners
		e.n.publish(batch)
		deadline := time.Now().Add(30 * time.Second)
		for e.n.Stats().Delivered < want {
			if time.Now().After(deadline) {
				b.Fatalf("window %d: %d events still pending", round, e.n.Backlog(ctx))
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	window(0) // connections, tokens, caches
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		window(i + 1)
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(b.N*devices*partners), "cpu-µs/event")
}
