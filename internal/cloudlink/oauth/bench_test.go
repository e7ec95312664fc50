package oauth

import (
	"context"
	"net/http/httptest"
	"testing"
)

// BenchmarkAuthenticate measures the bearer check every /cic/v1 call runs
// with warm caches (the token's signature verified once, the grant loaded
// once): expiry, grant state and scope bound per call, no database.
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b)
	code, _ := e.code("")
	_, m := e.exchange(code, "")
	access := str(m, "access_token")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("POST", "/cic/v1", nil)
		r.Header.Set("Authorization", "Bearer "+access)
		for pb.Next() {
			if _, err := e.srv.Authenticate(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
