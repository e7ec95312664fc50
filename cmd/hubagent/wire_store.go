package main

import (
	"log/slog"

	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/metrics"
	"github.com/hubagent/hubagent/internal/store"
)

// newStorageHealth watches the data directory's disk and the state writer
// for /healthz, the status page and the metrics.
func newStorageHealth(cfg *config.Config, h *hub.Hub, m *metrics.Metrics, log *slog.Logger) *store.HealthMonitor {
	mon := store.NewHealthMonitor(store.HealthOptions{Dir: cfg.DataDir, MinFree: int64(cfg.Store.MinFreeBytes),
		WriteError: func() error { return h.Stats().WriterLastErr }, Logger: log})
	m.Gauge("hubagent_store_healthy", "1 while the store has room and commits succeed, else 0 (see /healthz).", func() float64 {
		if mon.Health().OK {
			return 1
		}
		return 0
	})
	m.Gauge("hubagent_store_free_bytes", "Free space on the data directory's file system (-1: unknown).",
		func() float64 { return float64(mon.Health().FreeBytes) })
	return mon
}
