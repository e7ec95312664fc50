package oauth

import (
	"sync"
	"time"
)

// Sign-in throttle limits (failed attempts within throttleWindow). An
// account is tried by name from anywhere, so its limit is low; an address
// may be a household behind one NAT, so its limit is higher.
const (
	throttleWindow     = 15 * time.Minute
	maxAccountFailures = 5
	maxAddressFailures = 20
	maxThrottleEntries = 10000
)

// throttle counts failed sign-ins per account and per address. While a key
// is over its limit every attempt is refused before the password is even
// checked, so a correct guess during the lockout is worthless.
type throttle struct {
	mu    sync.Mutex
	now   func() time.Time
	fails map[string][]time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, fails: map[string][]time.Time{}}
}

// blocked returns how long the caller must wait, 0 when it may try.
func (t *throttle) blocked(account, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(t.wait("u:"+account, maxAccountFailures), t.wait("a:"+addr, maxAddressFailures))
}

func (t *throttle) wait(key string, limit int) time.Duration {
	fs := t.recent(key)
	if len(fs) < limit {
		return 0
	}
	return fs[len(fs)-limit].Add(throttleWindow).Sub(t.now())
}

// recent drops failures older than the window and returns the rest.
func (t *throttle) recent(key string) []time.Time {
	fs := t.fails[key]
	cut := t.now().Add(-throttleWindow)
	i := 0
	for i < len(fs) && fs[i].Before(cut) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(t.fails, key)
		return nil
	}
	t.fails[key] = fs
	return fs
}

// failed records a failed attempt.
func (t *throttle) failed(account, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) >= maxThrottleEntries {
		for k := range t.fails {
			t.recent(k)
		}
	}
	now := t.now()
	for _, k := range []string{"u:" + account, "a:" + addr} {
		fs := t.recent(k)
		if len(fs) >= 2*maxAddressFailures {
			fs = fs[1:] // bounded per key
		}
		t.fails[k] = append(fs, now)
	}
}

// succeeded clears the account's failures (not the address's: one good
// password must not reset a spray across accounts).
func (t *throttle) succeeded(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, "u:"+account)
}
