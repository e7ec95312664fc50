package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Health is the storage's condition as /healthz and the status page show
// it.
type Health struct {
	OK bool `json:"ok"`
	// Problem says what is wrong, "" when OK.
	Problem string `json:"problem,omitempty"`
	// FreeBytes is the space left for the data directory (-1: unknown).
	FreeBytes int64 `json:"freeBytes"`
	// Since is when the current condition began.
	Since time.Time `json:"since"`
}

// HealthOptions configure a HealthMonitor.
type HealthOptions struct {
	// Dir is the data directory.
	Dir string
	// MinFree: with less free space than this the store is unhealthy
	// (SQLite needs room for its journal before a commit can succeed).
	MinFree int64
	// WriteError returns the state writer's last commit failure, nil once
	// a commit succeeded (Writer.LastError).
	WriteError func() error
	// Interval between checks (default 2 s: the condition shows within
	// seconds, for the cost of one statfs).
	Interval time.Duration
	Logger   *slog.Logger
	// freeBytes replaces statfs in tests.
	freeBytes func(dir string) (int64, error)
}

// HealthMonitor watches the data directory's free space and the state
// writer. Nothing is needed to recover: the writer keeps what it could not
// commit and retries, and the monitor reports healthy again once space is
// back and a commit went through.
type HealthMonitor struct {
	opts HealthOptions
	cur  atomic.Pointer[Health]
}

// NewHealthMonitor makes a monitor and takes a first reading.
func NewHealthMonitor(opts HealthOptions) *HealthMonitor {
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.freeBytes == nil {
		opts.freeBytes = freeBytes
	}
	if opts.WriteError == nil {
		opts.WriteError = func() error { return nil }
	}
	m := &HealthMonitor{opts: opts}
	m.check(time.Now())
	return m
}

// Health returns the last reading.
func (m *HealthMonitor) Health() Health { return *m.cur.Load() }

// Run checks every Interval until ctx ends.
func (m *HealthMonitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			m.check(now)
		}
	}
}

func (m *HealthMonitor) check(now time.Time) {
	h := Health{OK: true, FreeBytes: -1}
	free, err := m.opts.freeBytes(m.opts.Dir)
	switch {
	case err != nil:
		h.OK, h.Problem = false, fmt.Sprintf("cannot read the free space of %s: %v", m.opts.Dir, err)
	default:
		h.FreeBytes = free
		if free < m.opts.MinFree {
			h.OK, h.Problem = false, fmt.Sprintf("the data directory's disk is full: %s free, %s needed (store.min_free_bytes)",
				byteSize(free), byteSize(m.opts.MinFree))
		}
	}
	if werr := m.opts.WriteError(); werr != nil && h.OK {
		h.OK, h.Problem = false, "state is not being saved: "+werr.Error()
	}
	prev := m.cur.Load()
	h.Since = now
	if prev != nil && prev.OK == h.OK && prev.Problem == h.Problem {
		h.Since = prev.Since
	}
	m.cur.Store(&h)
	switch {
	case prev != nil && prev.OK && !h.OK, prev == nil && !h.OK:
		m.opts.Logger.Error("storage unhealthy", "problem", h.Problem)
	case prev != nil && !prev.OK && h.OK:
		m.opts.Logger.Info("storage healthy again", "free", byteSize(h.FreeBytes), "after", now.Sub(prev.Since).Round(time.Second))
	}
}

// byteSize formats n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
