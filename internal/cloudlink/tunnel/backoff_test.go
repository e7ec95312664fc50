package tunnel

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithJitterUpToCapAndResets(t *testing.T) {
	b := newBackoff(time.Second, 60*time.Second)
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for round := range 50 { // jitter is random: check the bounds many times
		b.reset()
		for i, w := range want {
			d := w * time.Second
			got := b.next()
			if got < d/2 || got > d {
				t.Fatalf("round %d step %d: wait %v outside [%v, %v]", round, i, got, d/2, d)
			}
		}
	}
}
