package hadiscovery

import (
	"fmt"
	"math"
	"strconv"
)

// rgb is a colour with 0–255 channels.
type rgb struct{ r, g, b int }

func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// parseHex reads "#rrggbb".
func parseHex(s string) (rgb, bool) {
	if len(s) != 7 || s[0] != '#' {
		return rgb{}, false
	}
	n, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return rgb{}, false
	}
	return rgb{int(n >> 16 & 0xff), int(n >> 8 & 0xff), int(n & 0xff)}, true
}

func clamp255(f float64) int {
	switch {
	case math.IsNaN(f) || f < 0:
		return 0
	case f > 255:
		return 255
	}
	return int(math.Round(f))
}

// hsToRGB converts hue (degrees) and saturation (percent) at full value.
func hsToRGB(h, s float64) rgb {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	s = math.Max(0, math.Min(100, s)) / 100
	c := s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := 1 - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	return rgb{clamp255((r + m) * 255), clamp255((g + m) * 255), clamp255((b + m) * 255)}
}

// toHS converts to hue (degrees) and saturation (percent), dropping value
// as Home Assistant's hs colour mode does.
func (c rgb) toHS() (h, s float64) {
	r, g, b := float64(c.r)/255, float64(c.g)/255, float64(c.b)/255
	mx, mn := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	d := mx - mn
	switch {
	case d == 0:
		h = 0
	case mx == r:
		h = 60 * math.Mod((g-b)/d, 6)
	case mx == g:
		h = 60 * ((b-r)/d + 2)
	default:
		h = 60 * ((r-g)/d + 4)
	}
	if h < 0 {
		h += 360
	}
	if mx > 0 {
		s = d / mx * 100
	}
	return math.Round(h*10) / 10, math.Round(s*10) / 10
}

// xyToRGB converts CIE 1931 x/y at full brightness (Home Assistant's
// color_xy_to_RGB with the wide-gamut matrix and sRGB gamma).
func xyToRGB(x, y float64) rgb {
	if y <= 0 {
		return rgb{}
	}
	Y := 1.0
	X := Y / y * x
	Z := Y / y * (1 - x - y)
	r := X*1.656492 - Y*0.354851 - Z*0.255038
	g := -X*0.707196 + Y*1.655397 + Z*0.036152
	b := X*0.051713 - Y*0.121364 + Z*1.011530
	gamma := func(v float64) float64 {
		if v <= 0.0031308 {
			return 12.92 * v
		}
		return 1.055*math.Pow(v, 1/2.4) - 0.055
	}
	r, g, b = math.Max(0, gamma(r)), math.Max(0, gamma(g)), math.Max(0, gamma(b))
	if mx := math.Max(r, math.Max(g, b)); mx > 1 {
		r, g, b = r/mx, g/mx, b/mx
	}
	return rgb{clamp255(r * 255), clamp255(g * 255), clamp255(b * 255)}
}

// toXY converts to CIE 1931 x/y (Home Assistant's color_RGB_to_xy).
func (c rgb) toXY() (x, y float64) {
	lin := func(v int) float64 {
		f := float64(v) / 255
		if f > 0.04045 {
			return math.Pow((f+0.055)/1.055, 2.4)
		}
		return f / 12.92
	}
	r, g, b := lin(c.r), lin(c.g), lin(c.b)
	X := r*0.664511 + g*0.154324 + b*0.162028
	Y := r*0.283881 + g*0.668433 + b*0.047685
	Z := r*0.000088 + g*0.072310 + b*0.986039
	sum := X + Y + Z
	if sum == 0 {
		return 0, 0
	}
	return math.Round(X/sum*10000) / 10000, math.Round(Y/sum*10000) / 10000
}
