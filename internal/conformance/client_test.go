package conformance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfterIsReadAsSecondsOrDateAndCapped(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"3", 3 * time.Second},
		{"0", 0},
		{"", time.Second},
		{"soon", time.Second},
		{"86400", maxRetryAfter},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
	} {
		h := http.Header{}
		h.Set("Retry-After", tc.v)
		if got := retryAfter(h); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestRateLimitedCallIsRetriedAfterRetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"header":{"name":"ErrorResponse"},"payload":{"errorCode":"RATE_LIMITED"}}`))
			return
		}
		w.Write([]byte(`{"header":{"name":"DiscoverResponse"},"payload":{"devices":[]}}`))
	}))
	defer srv.Close()
	r := &run{ctx: context.Background(), base: srv.URL, hc: srv.Client()}
	a := r.post("tok", envelope("CIC.Discovery", "Discover", "m-1", map[string]any{}))
	if a.status != http.StatusOK || a.env.Header.Name != "DiscoverResponse" || calls.Load() != 3 {
		t.Fatalf("after %d calls: %s", calls.Load(), a)
	}
}
