package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

func TestStartupMemoryIsReleasedOnceDiscoverySettles(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	log := slog.New(slog.DiscardHandler)

	done := make(chan struct{})
	go func() {
		releaseStartupMemory(ctx, h, time.Second, log)
		close(done)
	}()
	select {
	case <-done: // a still device count for 1 s: released after about 2 ticks
	case <-time.After(30 * time.Second):
		t.Fatal("not released although the device count never moved")
	}

	cctx, cancel := context.WithCancel(ctx)
	done = make(chan struct{})
	go func() {
		releaseStartupMemory(cctx, h, time.Hour, log)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop with its context")
	}
}
