package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// writtenBytes is this process's write(2) byte count (wchar in /proc/self/io):
// in a benchmark that only writes the database, it is the bytes handed to the
// database and WAL files.
func writtenBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("wchar: ")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// BenchmarkStateUpsert measures state writes through the Writer for 1,000
// devices whose brightness changes fast, with coalescing off (every change
// written, group commit) and on (a 50 ms window). It reports updates/s and
// bytes written to the database files per 1,000 updates.
func BenchmarkStateUpsert(b *testing.B) {
	for _, bc := range []struct {
		name   string
		window time.Duration
	}{{"coalesce=off", 0}, {"coalesce=on", 50 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) {
			s := openTemp(b)
			ctx := context.Background()
			const devices = 1000
			for i := 0; i < devices; i++ {
				if err := s.UpsertDevice(ctx, lamp(fmt.Sprintf("dev-%04d", i))); err != nil {
					b.Fatal(err)
				}
			}
			w := s.NewWriter(WriterOptions{Window: bc.window})
			ids := make([]string, devices)
			for i := range ids {
				ids[i] = fmt.Sprintf("dev-%04d", i)
			}
			now := time.Now()
			before, ioOK := writtenBytes()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.Put(Change{DeviceID: ids[i%devices], Property: "brightness", Value: device.Int(int64(i % 101)), At: now})
			}
			if err := w.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			after, _ := writtenBytes()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
			if ioOK {
				b.ReportMetric(float64(after-before)/float64(b.N)*1000, "bytes/1000updates")
			}
			w.Close()
		})
	}
}
