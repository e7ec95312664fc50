package main

import (
	"flag"
	"time"
)

// maxListed bounds --limit of the audit listings.
const maxListed = 100000

// entryWindow is the --since/--limit pair of the commands that list logged
// entries (audit, relay audit).
type entryWindow struct {
	since *string
	limit *int
}

func addEntryWindow(fs *flag.FlagSet) entryWindow {
	return entryWindow{
		since: fs.String("since", "24h", "entries newer than a `DURATION` (24h) or an RFC 3339 time"),
		limit: fs.Int("limit", 1000, "at most `N` entries"),
	}
}

// after parsing: the start of the window and the limit, or a usage error;
// pos are the positional arguments, of which there must be none.
func (w entryWindow) values(pos []string) (time.Time, int, error) {
	if len(pos) > 0 {
		return time.Time{}, 0, usagef("unexpected argument %q", pos[0])
	}
	from, err := parseSince(*w.since, time.Now())
	if err != nil {
		return time.Time{}, 0, usagef("--since: %v", err)
	}
	if *w.limit <= 0 || *w.limit > maxListed {
		return time.Time{}, 0, usagef("--limit must be 1..%d", maxListed)
	}
	return from, *w.limit, nil
}
