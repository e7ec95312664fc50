package tunnel

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestForwardedAppliesRelayHeadersOnlyOnTrustedTunnel(t *testing.T) {
	hdr := map[string]string{
		"X-Forwarded-For":   "198.51.100.7, 203.0.113.9",
		"X-Forwarded-Proto": "HTTPS",
		"X-Forwarded-Host":  "hub-1.relay.example",
		"X-Real-Ip":         "192.0.2.1",
	}
	type seen struct{ remote, host, proto, realIP string }
	tests := []struct {
		name   string
		tunnel bool
		trust  bool
		hdr    map[string]string
		want   seen
	}{
		{"tunnel, trusted: last X-Forwarded-For entry, host, proto", true, true, hdr,
			seen{"203.0.113.9:0", "hub-1.relay.example", "https", ""}},
		{"tunnel, not trusted: headers dropped", true, false, hdr, seen{"127.0.0.1:5555", "hub.local", "", ""}},
		{"LAN, trusted: headers dropped", false, true, hdr, seen{"127.0.0.1:5555", "hub.local", "", ""}},
		{"tunnel, trusted, garbage values ignored", true, true, map[string]string{
			"X-Forwarded-For": "not-an-ip", "X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "evil/path"},
			seen{"127.0.0.1:5555", "hub.local", "", ""}},
		{"tunnel, trusted, ip:port and v4-mapped", true, true, map[string]string{"X-Forwarded-For": "[::ffff:192.0.2.5]:443"},
			seen{"192.0.2.5:0", "hub.local", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			h := Forwarded(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = seen{r.RemoteAddr, r.Host, r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Real-Ip")}
				if r.Header.Get("X-Forwarded-For") != "" {
					t.Error("X-Forwarded-For reached the handler")
				}
			}), tt.trust)
			r := httptest.NewRequest("GET", "http://hub.local/healthz", nil)
			r.RemoteAddr = "127.0.0.1:5555"
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			if tt.tunnel {
				r = r.WithContext(context.WithValue(r.Context(), viaTunnelKey{}, true))
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("handler saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseForwardedFor(t *testing.T) {
	tests := []struct {
		in   []string
		want string // "" = none
	}{
		{nil, ""},
		{[]string{"203.0.113.9"}, "203.0.113.9"},
		{[]string{"1.1.1.1", "2.2.2.2"}, "2.2.2.2"},
		{[]string{"1.1.1.1,  2001:db8::1 "}, "2001:db8::1"},
		{[]string{"2.2.2.2, "}, ""},
		{[]string{"fe80::1%eth0"}, ""},
		{[]string{"unknown"}, ""},
	}
	for _, tt := range tests {
		ip, ok := ParseForwardedFor(tt.in)
		got := ""
		if ok {
			got = ip.String()
		}
		if got != tt.want {
			t.Errorf("ParseForwardedFor(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzForwarded(f *testing.F) {
	f.Add("203.0.113.9", "hub-1.relay.example:443")
	f.Add("1.1.1.1, [2001:db8::1]:80", "[::1]:8443")
	f.Fuzz(func(t *testing.T, xff, host string) {
		if ip, ok := ParseForwardedFor([]string{xff}); ok {
			if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
				t.Fatalf("ParseForwardedFor(%q) = %v", xff, ip)
			}
			if _, err := netip.ParseAddrPort(netip.AddrPortFrom(ip, 0).String()); err != nil {
				t.Fatalf("remote addr from %q does not parse back: %v", xff, err)
			}
		}
		if h, ok := parseForwardedHost(host); ok {
			for _, c := range h {
				if c <= ' ' || c == '/' || c == '@' || c == '?' || c == '#' || c > 0x7e {
					t.Fatalf("parseForwardedHost(%q) accepted %q", host, h)
				}
			}
		}
	})
}
