package relay

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxLifetime bounds a token's lifetime.
const MaxLifetime = 365 * 24 * time.Hour

// ParseLifetime reads a token lifetime: a Go duration ("12h") or whole
// days ("30d"), positive and at most a year.
func ParseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 365 {
			return 0, fmt.Errorf("lifetime %q: want 1d..365d or a duration such as 12h", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("lifetime %q: want 1d..365d or a duration such as 12h", s)
		}
	}
	if d <= 0 || d > MaxLifetime {
		return 0, fmt.Errorf("lifetime %q: must be positive and at most 365d", s)
	}
	return d, nil
}
