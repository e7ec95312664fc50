package testutil

import (
	"testing"
	"time"
)

// Poll calls cond until it returns true or within has passed, and reports
// whether it held. It is the one place tests wait on a condition: the first
// check is immediate, the pause between checks grows from 5 ms to 100 ms
// (quick for fast conditions, cheap for ones that run a command), and cond
// gets a last check after the deadline so a loaded machine does not fail a
// condition that became true during the final pause.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	pause := 5 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(pause*2, 100*time.Millisecond)
	}
}

// Eventually fails the test unless cond holds within the given time; what
// names the condition in the failure ("the lamp's state", "reconnected").
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(within, cond) {
		t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}
