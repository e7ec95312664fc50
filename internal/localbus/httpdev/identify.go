package httpdev

import (
	"context"
	"log/slog"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

// identify runs the vendor's Identify on one instance until it succeeds,
// waiting RetryMin, then twice as long each time up to RetryMax, between
// tries; a new announcement of the instance cuts the wait short. It ends
// when the instance is gone or moved (p.stop) or ctx ends. Each try's
// outcome goes to Status; the log gets the first failure and a changed
// error, not every try of an appliance that stays broken.
func (t *Tracker[T]) identify(ctx context.Context, p *probe) {
	defer func() {
		t.mu.Lock()
		if t.probing[p.key] == p {
			delete(t.probing, p.key)
		}
		t.mu.Unlock()
	}()
	wait := t.opts.RetryMin
	var timer *time.Timer
	lastErr := ""
	for {
		select {
		case <-p.stop: // gone before its first try started
			return
		default:
		}
		t.mu.Lock()
		inst := p.inst
		t.mu.Unlock()
		err := t.opts.Identify(ctx, inst, p.addr)
		if ctx.Err() != nil {
			return
		}
		status := "ok"
		if err != nil {
			status = t.judge(inst, p.addr, err, err.Error() != lastErr)
			lastErr = err.Error()
		}
		if t.opts.Status != nil {
			t.opts.Status(inst, status)
		}
		if err == nil {
			if lastErr != "" {
				t.log.Info(t.opts.Vendor+": device identified after retrying", "instance", inst.Name, "addr", p.addr)
			}
			return
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		case <-p.again:
		case <-timer.C:
		}
		wait = min(wait*2, t.opts.RetryMax)
	}
}

// judge returns an instance's status after a failed identification and,
// when loud, logs why it failed (at debug level otherwise).
func (t *Tracker[T]) judge(inst mdns.Instance, addr string, err error, loud bool) string {
	level := slog.LevelDebug
	if loud {
		level = slog.LevelWarn
	}
	if t.opts.Classify != nil {
		if status, warning, ok := t.opts.Classify(err); ok {
			t.log.Log(context.Background(), level, warning, "instance", inst.Name, "addr", addr)
			return status
		}
	}
	t.log.Log(context.Background(), level, t.opts.Vendor+": device not usable", "instance", inst.Name, "addr", addr, "err", err)
	return "error: " + err.Error()
}
