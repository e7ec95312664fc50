package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// TestCrashChild is the child half of TestKillDashNineKeepsCommittedWrites:
// it streams state writes and prints the highest index it knows committed.
// With HUBAGENT_CRASH_INTERVAL set, the writer defers commits by that flush
// interval and the child commits by Flush only every 100 writes: what lies
// between is the unflushed interval a power cut may lose.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("HUBAGENT_CRASH_DB")
	if path == "" {
		t.Skip("child of TestKillDashNineKeepsCommittedWrites")
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	s.UpsertDevice(ctx, lamp("crash"))
	opts, every := WriterOptions{Window: 5 * time.Millisecond}, 25
	if iv := os.Getenv("HUBAGENT_CRASH_INTERVAL"); iv != "" {
		opts.FlushInterval, _ = time.ParseDuration(iv)
		every = 100
	}
	w := s.NewWriter(opts)
	for i := 0; ; i++ {
		w.Put(Change{DeviceID: "crash", Property: "p" + strconv.Itoa(i), Value: device.Int(int64(i)), At: time.Now()})
		if i%every == every-1 {
			if err := w.Flush(ctx); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("committed", i)
		}
	}
}

func TestKillDashNineKeepsCommittedWrites(t *testing.T) {
	committed, d := crashChild(t, "")
	t.Logf("%d writes reported committed before kill -9, all present; %d rows in total", committed+1, len(d.State))
}

// With a flush interval, kill -9 loses at most what was not flushed yet, and
// the database holds exactly the state of one flush: every write up to a
// flush boundary, none past it.
func TestKillDashNineWithFlushIntervalLosesOnlyTheUnflushed(t *testing.T) {
	committed, d := crashChild(t, "1h")
	rows := len(d.State)
	if rows%100 != 0 || rows < committed+1 {
		t.Fatalf("%d rows after kill -9 with %d reported flushed: not the state of one flush", rows, committed+1)
	}
	for i := 0; i < rows; i++ {
		if v := d.State["p"+strconv.Itoa(i)]; !v.Equal(device.Int(int64(i))) {
			t.Fatalf("write %d inside the last flush reads %v", i, v)
		}
	}
	t.Logf("%d writes flushed before kill -9, %d rows present (a prefix ending at a flush)", committed+1, rows)
}

func crashChild(t *testing.T, interval string) (int, *device.Device) {
	t.Helper()
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), FileName)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "HUBAGENT_CRASH_DB="+path, "HUBAGENT_CRASH_INTERVAL="+interval)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatal(line)
		}
		if n, ok := strings.CutPrefix(line, "committed "); ok {
			committed, _ = strconv.Atoi(n)
			if committed >= 2000 {
				// Mid-stream: let more writes get in flight, then kill.
				time.Sleep(3 * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
	}
	cmd.Wait()
	if committed < 2000 {
		t.Fatalf("child stopped early at %d", committed)
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
	d, err := s.Device(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= committed; i++ {
		if v := d.State["p"+strconv.Itoa(i)]; !v.Equal(device.Int(int64(i))) {
			t.Fatalf("write %d reported committed but reads %v", i, v)
		}
	}
	return committed, d
}
