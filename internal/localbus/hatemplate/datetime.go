package hatemplate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// dateTime is a timezone-aware Python datetime, as now() returns.
type dateTime struct{ t time.Time }

// pyOffset writes a UTC offset as Python does: +HH:MM (seconds when not
// whole minutes), colon optional.
func pyOffset(t time.Time, colon bool) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	sep := ""
	if colon {
		sep = ":"
	}
	s := fmt.Sprintf("%c%02d%s%02d", sign, off/3600, sep, off%3600/60)
	if off%60 != 0 {
		s += fmt.Sprintf("%s%02d", sep, off%60)
	}
	return s
}

// isoformat is datetime.isoformat(sep): microseconds only when not zero.
func (d dateTime) isoformat(sep string) string {
	t := d.t
	s := t.Format("2006-01-02") + sep + t.Format("15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + pyOffset(t, true)
}

func (d dateTime) timestamp() float64 {
	return float64(d.t.Unix()) + float64(d.t.Nanosecond()/1000)/1e6
}

// strftime supports the directives publishers use; anything else is an
// error rather than a guess (C's strftime varies by platform).
func strftime(t time.Time, f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			b.WriteByte(c)
			continue
		}
		i++
		pad := true
		if f[i] == '-' && i+1 < len(f) { // glibc: no padding
			pad = false
			i++
		}
		num := func(n, width int) {
			if pad {
				fmt.Fprintf(&b, "%0*d", width, n)
			} else {
				b.WriteString(strconv.Itoa(n))
			}
		}
		switch f[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			num(t.Year()%100, 2)
		case 'm':
			num(int(t.Month()), 2)
		case 'd':
			num(t.Day(), 2)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 'j':
			num(t.YearDay(), 3)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'z':
			b.WriteString(pyOffset(t, false))
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("hatemplate: strftime directive %%%c: %w", f[i], ErrUnsupported)
		}
		if b.Len() > MaxOutputLen {
			return "", fmt.Errorf("hatemplate: output longer than %d bytes", MaxOutputLen)
		}
	}
	return b.String(), nil
}

// fromTimestamp is datetime.fromtimestamp(v, tz) for a number v.
func fromTimestamp(v any, loc *time.Location) (time.Time, bool) {
	f, ok := number(v) // Python takes bools as 0/1 too
	// datetime's range is years 1..9999.
	if !ok || math.IsNaN(f) || f < -62135596800 || f > 253402300799 {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	return time.Unix(int64(sec), int64(us)*1000).In(loc), true
}

func fTimestamp(local bool, _ string) func(*evaluator, []any) (any, error) {
	return func(ev *evaluator, a []any) (any, error) {
		loc := time.UTC
		if local {
			loc = ev.loc()
		}
		t, ok := fromTimestamp(a[0], loc)
		if !ok {
			return orDefault(arg(a, 1), noDefault("timestamp", a[0]))
		}
		return dateTime{t}.isoformat("T"), nil
	}
}

func fTimestampCustom(ev *evaluator, a []any) (any, error) {
	format := "%Y-%m-%d %H:%M:%S"
	if f := arg(a, 1); given(f) {
		s, ok := f.(string)
		if !ok {
			return nil, fmt.Errorf("hatemplate: timestamp_custom: format must be a string")
		}
		format = s
	}
	loc := ev.loc()
	if l := arg(a, 2); given(l) && !truthy(l) {
		loc = time.UTC
	}
	t, ok := fromTimestamp(a[0], loc)
	if !ok {
		return orDefault(arg(a, 3), noDefault("timestamp_custom", a[0]))
	}
	return strftime(t, format)
}

// fAsTimestamp is Home Assistant's as_timestamp: a datetime, or text
// parsed as an ISO 8601 date/time (naive times in the local zone), to
// seconds since the epoch.
func fAsTimestamp(ev *evaluator, a []any) (any, error) {
	switch x := a[0].(type) {
	case dateTime:
		return x.timestamp(), nil
	case undefined:
	default:
		s, err := toStr(x)
		if err == nil {
			if t, ok := parseDateTime(s, ev.loc()); ok {
				return dateTime{t}.timestamp(), nil
			}
		}
	}
	return orDefault(arg(a, 1), noDefault("as_timestamp", a[0]))
}

// parseDateTime reads the ISO 8601 forms Home Assistant's parse_datetime
// accepts: date, "T" or space, time with optional fraction, optional Z or
// ±HH:MM offset.
func parseDateTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 16 || len(s) > 40 {
		return time.Time{}, false
	}
	layouts := []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04"}
	norm := s
	if norm[10] == ' ' {
		norm = norm[:10] + "T" + norm[11:]
	}
	for _, l := range layouts {
		if strings.Contains(l, "Z07") {
			if t, err := time.Parse(l, norm); err == nil {
				return t, true
			}
			continue
		}
		if t, err := time.ParseInLocation(l, norm, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// dateAttr is a datetime attribute, undefined for any other name.
func (d dateTime) attr(name string) any {
	t := d.t
	switch name {
	case "year":
		return int64(t.Year())
	case "month":
		return int64(t.Month())
	case "day":
		return int64(t.Day())
	case "hour":
		return int64(t.Hour())
	case "minute":
		return int64(t.Minute())
	case "second":
		return int64(t.Second())
	case "microsecond":
		return int64(t.Nanosecond() / 1000)
	}
	return undefined{}
}

// method calls a datetime method.
func (d dateTime) method(name string, args []any) (any, error) {
	switch name {
	case "isoformat":
		sep := "T"
		if len(args) == 1 {
			s, ok := args[0].(string)
			if !ok || len([]rune(s)) != 1 {
				return nil, fmt.Errorf("hatemplate: isoformat: sep must be one character")
			}
			sep = s
		} else if len(args) > 1 {
			return nil, fmt.Errorf("hatemplate: isoformat takes at most 1 argument")
		}
		return d.isoformat(sep), nil
	case "timestamp":
		return d.timestamp(), wantArgs(name, args, 0, 0)
	case "strftime":
		if err := wantArgs(name, args, 1, 1); err != nil {
			return nil, err
		}
		f, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("hatemplate: strftime: format must be a string")
		}
		return strftime(d.t, f)
	}
	return nil, fmt.Errorf("hatemplate: datetime has no method %s", name)
}
