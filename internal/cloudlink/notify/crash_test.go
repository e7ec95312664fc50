package notify

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
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// TestNotifyCrashChild is the child of TestKillDashNineWithBacklogLosesNothing:
// it subscribes, streams state changes while the partner is down, and
// prints how many events the outbox holds committed.
func TestNotifyCrashChild(t *testing.T) {
	db := os.Getenv("HUBAGENT_NOTIFY_CRASH_DB")
	if db == "" {
		t.Skip("child of TestKillDashNineWithBacklogLosesNothing")
	}
	url, ca := os.Getenv("HUBAGENT_NOTIFY_CRASH_URL"), os.Getenv("HUBAGENT_NOTIFY_CRASH_CA")
	parts := fixedPartners{"A": {ClientID: "A", CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true}}
	e := newEnv(t, db, parts, ca, 0)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		e.hub.UpsertDevice(ctx, lamp(fmt.Sprintf("l%02d", i)))
	}
	e.subscribe(t, callerA, url+"/notify", EventStatusChanged)
	for i := 1; ; i++ {
		e.hub.ReportState(fmt.Sprintf("l%02d", i%20), map[string]device.Value{"brightness": device.Int(int64(i % 101))}, time.Now())
		if i%20 == 0 {
			if err := e.hub.Flush(ctx); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			// The partner is down: every event is undelivered, so the
			// durable outbox holds all of them once flushed.
			var top int
			if err := e.st.DB().QueryRow("SELECT coalesce(max(seq), 0) FROM outbox").Scan(&top); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("committed", top)
		}
	}
}

func TestKillDashNineWithBacklogLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	p := newPartner(t)
	p.setDown(true)
	db := filepath.Join(t.TempDir(), store.FileName)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNotifyCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "HUBAGENT_NOTIFY_CRASH_DB="+db, "HUBAGENT_NOTIFY_CRASH_URL="+p.srv.URL,
		"HUBAGENT_NOTIFY_CRASH_CA="+p.caFile)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatal(line)
		}
		if v, ok := strings.CutPrefix(line, "committed "); ok {
			committed, _ = strconv.Atoi(v)
			if committed >= 3000 {
				// Mid-stream: let more deliveries get in flight, then kill.
				time.Sleep(3 * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
	}
	cmd.Wait()
	if committed < 3000 {
		t.Fatalf("child stopped at %d events", committed)
	}
	// Restart on the same database with the partner back up.
	p.setDown(false)
	e := newEnv(t, db, fixedPartners{"A": {ClientID: "A", CallbackHosts: []string{"127.0.0.1"}, AllowPrivate: true}}, p.caFile, 0)
	var total, count, next int
	testutil.Scan(t, e.st.DB().QueryRow("SELECT max(seq), count(*) FROM outbox"), &total, &count)
	testutil.Scan(t, e.st.DB().QueryRow("SELECT next_seq FROM subscriptions"), &next)
	if total < committed || count != total {
		t.Fatalf("durable outbox holds %d events up to %d, child reported %d committed", count, total, committed)
	}
	// After an unclean stop numbering resumes past every number handed
	// out (the reservation), never below.
	if next <= total {
		t.Fatalf("next_seq %d after kill -9, events numbered up to %d", next, total)
	}
	var seqs []int
	testutil.Eventually(t, 60*time.Second, "the whole backlog", func() bool {
		seqs = seqs[:0]
		for _, r := range p.got() {
			for _, ev := range r.Payload["events"].([]any) {
				seqs = append(seqs, int(ev.(map[string]any)["sequence"].(float64)))
			}
		}
		return len(seqs) >= total
	})
	// At-least-once: a duplicate may only be a redelivery of an earlier
	// batch; the sequence never goes backwards past what was delivered
	// except by re-sending, and never skips.
	highest := 0
	for _, s := range seqs {
		if s > highest+1 {
			t.Fatalf("sequence jumped from %d to %d: events lost", highest, s)
		}
		highest = max(highest, s)
	}
	if highest != total {
		t.Fatalf("highest sequence %d, want %d", highest, total)
	}
	t.Logf("%d events committed before kill -9 (%d numbered); all delivered in order in %d POSTs", committed, total, len(p.got()))
}
