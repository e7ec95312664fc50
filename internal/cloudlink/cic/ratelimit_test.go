package cic

import (
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestRateLimitBurstsThenRefillsAtTheSustainedRatePerPartner(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	l := newLimiter(20, 40)
	l.now = clk.now
	for i := range 40 {
		if _, ok := l.allow("A"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	wait, ok := l.allow("A")
	if ok {
		t.Fatal("request 41 of a burst of 40 allowed")
	}
	if wait != time.Second { // one token is 50 ms away; Retry-After is whole seconds
		t.Errorf("retry after %v, want 1s", wait)
	}
	if _, ok := l.allow("B"); !ok {
		t.Fatal("partner B refused because of A's burst")
	}
	// 20 tokens/s: 100 ms brings back two requests, not three.
	clk.advance(100 * time.Millisecond)
	for i := range 2 {
		if _, ok := l.allow("A"); !ok {
			t.Fatalf("refilled request %d refused", i+1)
		}
	}
	if _, ok := l.allow("A"); ok {
		t.Fatal("a third request allowed 100 ms after the bucket ran dry")
	}
	// A long pause refills to the burst, no further.
	clk.advance(time.Hour)
	for i := range 40 {
		if _, ok := l.allow("A"); !ok {
			t.Fatalf("request %d after an hour refused", i+1)
		}
	}
	if _, ok := l.allow("A"); ok {
		t.Fatal("the bucket grew past its burst")
	}
}
