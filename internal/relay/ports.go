package relay

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MaxPorts bounds the size of one relay's port set.
const MaxPorts = 64512 // 1024..65535

// Ports is the set of loopback ports a relay hands to hubs, written as
// comma-separated ports and ranges: "20000-29999" or "20001,20005-20010".
type Ports struct {
	spans [][2]int
	text  string
}

// ParsePorts reads a port set; ports must be 1024..65535.
func ParsePorts(s string) (Ports, error) {
	if s == "" || len(s) > 1000 {
		return Ports{}, errors.New("port set empty or longer than 1000 characters")
	}
	var p Ports
	total := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return Ports{}, fmt.Errorf("port set %q: %q is not a port", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return Ports{}, fmt.Errorf("port set %q: %q is not a port", s, hi)
			}
		}
		if a < 1024 || b > 65535 || a > b {
			return Ports{}, fmt.Errorf("port set %q: %d-%d outside 1024-65535 or reversed", s, a, b)
		}
		total += b - a + 1
		p.spans = append(p.spans, [2]int{a, b})
	}
	if total > MaxPorts {
		return Ports{}, fmt.Errorf("port set %q holds more than %d ports", s, MaxPorts)
	}
	sort.Slice(p.spans, func(i, j int) bool { return p.spans[i][0] < p.spans[j][0] })
	p.text = s
	return p, nil
}

func (p Ports) String() string { return p.text }

// Contains says whether port is in the set.
func (p Ports) Contains(port int) bool {
	for _, s := range p.spans {
		if port >= s[0] && port <= s[1] {
			return true
		}
	}
	return false
}

// first returns the lowest port of the set not in used, or 0 when all are.
func (p Ports) first(used map[int]bool) int {
	for _, s := range p.spans {
		for port := s[0]; port <= s[1]; port++ {
			if !used[port] {
				return port
			}
		}
	}
	return 0
}
