package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

func TestWriterCoalescesRepeatedWritesInWindow(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if err := s.UpsertDevice(ctx, lamp("l")); err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterOptions{Window: time.Hour}) // only Flush commits
	for i := 0; i <= 100; i++ {
		w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(int64(i)), At: time.Now()})
	}
	w.Put(Change{DeviceID: "l", Property: "power", Value: device.Bool(true), At: time.Now()})
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Written != 2 || st.Coalesced != 100 || st.Commits != 1 {
		t.Errorf("stats = %+v, want 2 written, 100 coalesced, 1 commit", st)
	}
	d, _ := s.Device(ctx, "l")
	if !d.State["brightness"].Equal(device.Int(100)) {
		t.Errorf("brightness = %v, want the last value 100", d.State["brightness"])
	}
	w.Close()
}

func TestWriterWithoutWindowWritesEveryChange(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	w := s.NewWriter(WriterOptions{})
	for i := 0; i < 50; i++ {
		w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(int64(i)), At: time.Now()})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Written != 50 || st.Coalesced != 0 {
		t.Errorf("stats = %+v, want 50 written and none coalesced", st)
	}
	if err := w.Put(Change{DeviceID: "l"}); err != ErrWriterClosed {
		t.Errorf("Put after Close = %v", err)
	}
}

func TestWriterWindowCommitsWithoutFlush(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	w := s.NewWriter(WriterOptions{Window: 20 * time.Millisecond})
	defer w.Close()
	w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(7), At: time.Now()})
	testutil.Eventually(t, 5*time.Second, "the change committed after the window passed", func() bool {
		d, _ := s.Device(ctx, "l")
		return d.State["brightness"].Equal(device.Int(7))
	})
}

func TestWriterOnlineChange(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	d := lamp("l")
	d.Online = false
	s.UpsertDevice(ctx, d)
	w := s.NewWriter(WriterOptions{})
	w.Put(Change{DeviceID: "l", Value: device.Bool(true), At: time.Now()})
	w.Close()
	got, _ := s.Device(ctx, "l")
	if !got.Online {
		t.Fatal("online flag not written")
	}
}

func TestWriterHookRunsInSameTransaction(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	if _, err := s.DB().Exec("CREATE TABLE hooklog (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	fail := true
	// A long window: only Flush commits, so the first Flush meets the failure.
	w := s.NewWriter(WriterOptions{Window: time.Hour, Hook: func(ctx context.Context, tx *sql.Tx, batch []Change) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO hooklog VALUES (?)", len(batch)); err != nil {
			return err
		}
		if fail {
			fail = false
			return fmt.Errorf("injected")
		}
		return nil
	}})
	w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(1), At: time.Now()})
	if err := w.Flush(ctx); err == nil {
		t.Fatal("first commit should fail through the hook")
	}
	var n int
	testutil.Scan(t, s.DB().QueryRow("SELECT count(*) FROM state"), &n)
	if n != 0 {
		t.Fatal("state committed although the hook failed")
	}
	// The failed batch is kept and retried: nothing is lost.
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Scan(t, s.DB().QueryRow("SELECT count(*) FROM state"), &n)
	var logged int
	testutil.Scan(t, s.DB().QueryRow("SELECT count(*) FROM hooklog"), &logged)
	if n != 1 || logged != 1 {
		t.Fatalf("state rows %d, hook rows %d; want 1 and 1", n, logged)
	}
	w.Close()
}

// While commits fail, changes are coalesced whatever the window: the kept
// batch holds one value per property, not one per change, and the last
// value of each is written once commits succeed again.
func TestWriterKeepsOneValuePerPropertyWhileFailing(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	var fail atomic.Bool
	fail.Store(true)
	var largest atomic.Int64
	w := s.NewWriter(WriterOptions{MaxBatch: 16, Hook: func(ctx context.Context, tx *sql.Tx, batch []Change) error {
		if int64(len(batch)) > largest.Load() {
			largest.Store(int64(len(batch)))
		}
		if fail.Load() {
			return fmt.Errorf("injected: database or disk is full")
		}
		return nil
	}})
	defer w.Close()
	for i := range 5000 {
		w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(int64(i % 100)), At: time.Now()})
	}
	w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(42), At: time.Now()})
	if err := w.Flush(ctx); err == nil {
		t.Fatal("flush succeeded while commits fail")
	}
	if w.Stats().Failures > 100 {
		t.Errorf("%d commit attempts while failing, want the retry pace, not one per change", w.Stats().Failures)
	}
	fail.Store(false)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Device(ctx, "l")
	if !got.State["brightness"].Equal(device.Int(42)) {
		t.Errorf("brightness = %v after recovery, want the last value 42", got.State["brightness"])
	}
	if n := largest.Load(); n > 16+1 {
		t.Errorf("a batch of %d changes while failing, want at most MaxBatch plus one per property", n)
	}
}
