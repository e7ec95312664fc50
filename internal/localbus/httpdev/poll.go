package httpdev

import (
	"context"
	"time"
)

// poll refreshes u every PollInterval and when poked until ctx ends. It
// logs only the changes between reachable and unreachable, so that an
// appliance that is off for a day does not fill the log.
func (t *Tracker[T]) poll(ctx context.Context, u *Unit[T]) {
	tick := time.NewTicker(t.opts.PollInterval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-u.pokes:
		}
		err := t.opts.Refresh(ctx, u)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			t.log.Warn(t.opts.Vendor+": device unreachable", t.opts.LogKey, u.ID, "err", err)
			failing = true
		case err == nil && failing:
			t.log.Info(t.opts.Vendor+": device reachable again", t.opts.LogKey, u.ID)
			failing = false
		}
	}
}
