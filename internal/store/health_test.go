package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHealthFollowsFreeSpaceAndCommits(t *testing.T) {
	free := int64(100 << 20)
	var werr error
	m := NewHealthMonitor(HealthOptions{Dir: "/data", MinFree: 4 << 20, WriteError: func() error { return werr },
		freeBytes: func(string) (int64, error) { return free, nil }})
	t0 := time.Now()
	steps := []struct {
		name    string
		free    int64
		werr    error
		ok      bool
		problem string
	}{
		{"room", 100 << 20, nil, true, ""},
		{"nearly full", 1 << 20, nil, false, "disk is full: 1.0 MiB free, 4.0 MiB needed"},
		{"full and failing", 0, errors.New("database or disk is full"), false, "disk is full: 0 B free"},
		{"room, commit not yet retried", 50 << 20, errors.New("database or disk is full"), false, "state is not being saved"},
		{"recovered", 50 << 20, nil, true, ""},
	}
	for i, s := range steps {
		free, werr = s.free, s.werr
		m.check(t0.Add(time.Duration(i) * time.Second))
		h := m.Health()
		if h.OK != s.ok || !strings.Contains(h.Problem, s.problem) || (s.ok && h.Problem != "") {
			t.Errorf("%s: %+v, want ok=%v problem containing %q", s.name, h, s.ok, s.problem)
		}
	}
	if h := m.Health(); !h.Since.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("since = %v, want the time of the recovery", h.Since)
	}
}

func TestHealthOfARealDirectory(t *testing.T) {
	m := NewHealthMonitor(HealthOptions{Dir: t.TempDir(), MinFree: 1})
	if h := m.Health(); !h.OK || h.FreeBytes <= 0 {
		t.Errorf("temp dir: %+v", h)
	}
	m = NewHealthMonitor(HealthOptions{Dir: "/nonexistent/hubagent-test"})
	if h := m.Health(); h.OK || !strings.Contains(h.Problem, "cannot read the free space") {
		t.Errorf("missing dir: %+v", h)
	}
}
