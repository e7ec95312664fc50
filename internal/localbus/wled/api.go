// Package wled drives WLED LED controllers (found as _wled._tcp) over their
// documented JSON API: GET /json/info for identity, GET and POST
// /json/state for state and commands. Each controller is one light device
// with power, brightness and color, polled for state.
package wled

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Info is the part of GET /json/info the driver uses.
type Info struct {
	Name    string `json:"name"`
	Version string `json:"ver"`
	MAC     string `json:"mac"`
	Arch    string `json:"arch"`
	Brand   string `json:"brand"`
	Product string `json:"product"`
}

// State is the part of GET /json/state the driver uses.
type State struct {
	On         bool      `json:"on"`
	Brightness int       `json:"bri"`
	Segments   []Segment `json:"seg"`
}

// Segment is one LED segment; Colors holds up to three [r,g,b(,w)] slots.
type Segment struct {
	ID     int     `json:"id"`
	Colors [][]int `json:"col"`
}

// ParseInfo decodes /json/info and checks the identity is usable: a MAC of
// 12 hex digits, returned lower-case.
func ParseInfo(data []byte) (Info, error) {
	var in Info
	if err := json.Unmarshal(data, &in); err != nil {
		return Info{}, fmt.Errorf("wled: /json/info: %w", err)
	}
	in.MAC = strings.ToLower(strings.ReplaceAll(in.MAC, ":", ""))
	if !isHex(in.MAC, 12) {
		return Info{}, fmt.Errorf("wled: /json/info: bad mac %q", truncate(in.MAC, 40))
	}
	return in, nil
}

// ParseState decodes /json/state, checking ranges the driver relies on.
func ParseState(data []byte) (State, error) {
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("wled: /json/state: %w", err)
	}
	if st.Brightness < 0 || st.Brightness > 255 {
		return State{}, fmt.Errorf("wled: /json/state: brightness %d out of 0..255", st.Brightness)
	}
	return st, nil
}

// Percent converts WLED's brightness (0–255) to percent.
func Percent(bri int) int { return int(math.Round(float64(bri) * 100 / 255)) }

// Bri converts percent to WLED's brightness; every percent survives the
// round trip through the device unchanged.
func Bri(pct int) int { return int(math.Round(float64(pct) * 255 / 100)) }

// Color returns the primary color of the first segment as "#rrggbb".
func (s State) Color() (string, bool) {
	if len(s.Segments) == 0 || len(s.Segments[0].Colors) == 0 || len(s.Segments[0].Colors[0]) < 3 {
		return "", false
	}
	c := s.Segments[0].Colors[0]
	for _, v := range c[:3] {
		if v < 0 || v > 255 {
			return "", false
		}
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]), true
}

// ParseColor reads "#rrggbb".
func ParseColor(s string) ([3]int, error) {
	if len(s) != 7 || s[0] != '#' || !isHex(s[1:], 6) {
		return [3]int{}, errors.New("color must be #rrggbb")
	}
	var rgb [3]int
	for i := range rgb {
		v, _ := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		rgb[i] = int(v)
	}
	return rgb, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
