package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// PutBatch behaves as the same Puts one by one: every change counted and
// written in order (the last value of a property wins), and refused once
// the writer is closed.
func TestWriterPutBatchWritesEveryChangeInOrder(t *testing.T) {
	for _, tc := range []struct {
		name        string
		window      time.Duration
		wantWritten uint64
	}{
		{"coalescing window", time.Hour, 2},
		{"group commit", 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			ctx := context.Background()
			if err := s.UpsertDevice(ctx, lamp("l")); err != nil {
				t.Fatal(err)
			}
			w := s.NewWriter(WriterOptions{Window: tc.window})
			now := time.Now()
			if err := w.PutBatch([]Change{
				{DeviceID: "l", Property: "brightness", Value: device.Int(1), At: now},
				{DeviceID: "l", Property: "power", Value: device.Bool(false), At: now},
				{DeviceID: "l", Property: "brightness", Value: device.Int(2), At: now},
			}); err != nil {
				t.Fatal(err)
			}
			if err := w.PutBatch([]Change{{DeviceID: "l", Property: "power", Value: device.Bool(true), At: now}}); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if st := w.Stats(); st.Changes != 4 || st.Written != tc.wantWritten {
				t.Errorf("stats = %+v, want 4 changes, %d written", st, tc.wantWritten)
			}
			d, err := s.Device(ctx, "l")
			if err != nil {
				t.Fatal(err)
			}
			if !d.State["brightness"].Equal(device.Int(2)) || !d.State["power"].Equal(device.Bool(true)) {
				t.Errorf("state = %v, want the last values (brightness 2, power true)", d.State)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.PutBatch([]Change{{DeviceID: "l", Property: "power", Value: device.Bool(false), At: now}}); !errors.Is(err, ErrWriterClosed) {
				t.Errorf("PutBatch after Close = %v, want ErrWriterClosed", err)
			}
		})
	}
}
