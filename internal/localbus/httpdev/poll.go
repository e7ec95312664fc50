package httpdev

import (
	"context"
	"time"
)

// poll refreshes u every PollInterval and when poked until ctx ends. A
// failed poll of a reachable appliance is tried again ConfirmAfter later;
// only a second failure marks it offline (Options.Offline). It logs only
// the changes between reachable and unreachable, so that an appliance that
// is off for a day does not fill the log.
func (t *Tracker[T]) poll(ctx context.Context, u *Unit[T]) {
	tick := time.NewTicker(t.opts.PollInterval)
	defer tick.Stop()
	confirm := time.NewTimer(0)
	if !confirm.Stop() {
		<-confirm.C
	}
	defer confirm.Stop()
	offline, suspect := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-u.pokes:
		case <-confirm.C:
		}
		err := t.opts.Refresh(ctx, u)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			if offline {
				t.log.Info(t.opts.Vendor+": device reachable again", t.opts.LogKey, u.ID)
			}
			offline, suspect = false, false
			confirm.Stop()
		case offline:
		case !suspect:
			suspect = true
			confirm.Reset(t.opts.ConfirmAfter)
		default:
			t.log.Warn(t.opts.Vendor+": device unreachable", t.opts.LogKey, u.ID, "err", err)
			offline, suspect = true, false
			if t.opts.Offline != nil {
				t.opts.Offline(u)
			}
		}
	}
}
