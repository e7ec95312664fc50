package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

// TestPostgresRegistryUnderConcurrentEnrollment has two relays' services
// (two connections pools, as two machines would have) enroll hubs at once
// on one real PostgreSQL: every token works once, no two hubs of a relay
// share a port, and each relay's key lookup gives its own hubs only.
func TestPostgresRegistryUnderConcurrentEnrollment(t *testing.T) {
	if !postgresBuilt {
		t.Skip("built with -tags nopostgres: no PostgreSQL driver")
	}
	pg := testutil.StartPostgres(t)
	ctx := context.Background()
	open := func() *Registry {
		r, err := Open(ctx, pg.DSN())
		must(t, err)
		t.Cleanup(func() { r.Close() })
		return r
	}
	r1, r2 := open(), open()
	must(t, r1.Announce(ctx, info(t, "r1", "20001-20100")))
	must(t, r2.Announce(ctx, info(t, "r2", "30001-30100")))
	const n = 40
	toks, _, err := r1.CreateTokens(ctx, n, time.Hour)
	must(t, err)

	type result struct {
		hub, relay, listen string
		err                error
	}
	results := make(chan result, 2*n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		reg, self := r1, "r1"
		if i%2 == 1 {
			reg, self = r2, "r2"
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := newSigner(t)
			hub := fmt.Sprintf("%016x", i+1)
			e, err := reg.Enroll(ctx, self, req(hub, s, toks[i]), s.PublicKey())
			if err != nil {
				results <- result{hub: hub, err: err}
				return
			}
			results <- result{hub: hub, relay: e.RelayName, listen: e.RemoteListen}
			// The same token again, concurrently with the others: refused.
			s2 := newSigner(t)
			if _, err := reg.Enroll(ctx, self, req(fmt.Sprintf("%016x", 1000+i), s2, toks[i]), s2.PublicKey()); !errors.Is(err, ErrTokenRefused) {
				results <- result{hub: hub, err: fmt.Errorf("token reuse: %v", err)}
			}
		}(i)
	}
	wg.Wait()
	close(results)
	seen := map[string]string{}
	perRelay := map[string]int{}
	for res := range results {
		if res.err != nil {
			t.Fatalf("hub %s: %v", res.hub, res.err)
		}
		k := res.relay + " " + res.listen
		if other, dup := seen[k]; dup {
			t.Fatalf("hubs %s and %s both got %s", other, res.hub, k)
		}
		seen[k] = res.hub
		perRelay[res.relay]++
	}
	if len(seen) != n || perRelay["r1"] == 0 || perRelay["r2"] == 0 {
		t.Fatalf("%d hubs enrolled, per relay %v", len(seen), perRelay)
	}
	hubs, err := r2.Hubs(ctx, "r1")
	must(t, err)
	if len(hubs) != perRelay["r1"] {
		t.Fatalf("r1 has %d hubs, registry lists %d", perRelay["r1"], len(hubs))
	}
}
