package cloudlink

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/store"
)

func TestStorageSectionSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		name   string
		health store.Health
		want   []string
		not    []string
	}{
		{"healthy", store.Health{OK: true, FreeBytes: 300 << 20, Since: time.Now()}, []string{"Healthy", "300.0 MiB free"}, []string{"problem"}},
		{"full", store.Health{Problem: "the data directory's disk is full: 0 B free <x>", FreeBytes: 0, Since: time.Now().Add(-time.Minute)},
			[]string{"Storage problem", "disk is full", "&lt;x&gt;", "1m0s ago"}, []string{"Healthy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html, err := StorageSection(func() store.Health { return tt.health }).Render(context.Background(), oauth.StatusContext{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(html), w) {
					t.Errorf("section lacks %q:\n%s", w, html)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(string(html), w) {
					t.Errorf("section has %q:\n%s", w, html)
				}
			}
		})
	}
}

func TestHealthzReportsAStorageProblem(t *testing.T) {
	ok, problem := true, ""
	srv := NewServer(Options{HubID: "h", Health: func() (bool, string) { return ok, problem }})
	get := func() (int, Health) {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		var h Health
		if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		return rec.Code, h
	}
	if code, h := get(); code != http.StatusOK || h.Status != "ok" || h.Problem != "" {
		t.Errorf("healthy: %d %+v", code, h)
	}
	ok, problem = false, "disk full"
	if code, h := get(); code != http.StatusServiceUnavailable || h.Status != "degraded" || h.Problem != "disk full" {
		t.Errorf("unhealthy: %d %+v", code, h)
	}
}
