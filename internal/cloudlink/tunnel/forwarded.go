package tunnel

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// viaTunnelKey marks requests served on the tunnel's forwarded connections
// (this package's own mark; cloudlink's loopback-only routes use theirs,
// set through Options.ConnContext).
type viaTunnelKey struct{}

// FromTunnel reports whether the request arrived through the tunnel.
func FromTunnel(ctx context.Context) bool {
	v, _ := ctx.Value(viaTunnelKey{}).(bool)
	return v
}

// forwardedHeaders are the headers a proxy sets about the original client.
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "Forwarded"}

// Forwarded applies the relay's X-Forwarded-For/-Proto/-Host to the request
// when trust is set and the request came through the tunnel: RemoteAddr
// becomes the partner's address, Host the name it asked for, and
// X-Forwarded-Proto is kept only as "https" or "http". In every other case
// (trust off, a LAN connection) the headers are removed, so nothing further
// down can be fooled by a client that sets them itself.
func Forwarded(next http.Handler, trust bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !trust || !FromTunnel(r.Context()) {
			stripForwarded(r.Header)
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		if ip, ok := ParseForwardedFor(r.Header.Values("X-Forwarded-For")); ok {
			r2.RemoteAddr = netip.AddrPortFrom(ip, 0).String()
		}
		if h, ok := parseForwardedHost(r.Header.Get("X-Forwarded-Host")); ok {
			r2.Host = h
		}
		proto := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")))
		stripForwarded(r2.Header)
		if proto == "https" || proto == "http" {
			r2.Header.Set("X-Forwarded-Proto", proto)
		}
		next.ServeHTTP(w, r2)
	})
}

func stripForwarded(h http.Header) {
	for _, k := range forwardedHeaders {
		h.Del(k)
	}
}

// ParseForwardedFor returns the client address the relay's nginx recorded:
// the last entry of X-Forwarded-For. nginx's $proxy_add_x_forwarded_for
// appends the peer's address to whatever the client sent, so only the last
// entry is the relay's own word; earlier ones may be forged.
func ParseForwardedFor(values []string) (netip.Addr, bool) {
	if len(values) == 0 {
		return netip.Addr{}, false
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	last = strings.TrimSpace(last)
	// Tolerate "ip:port" and "[v6]:port", which some proxies write.
	if ap, err := netip.ParseAddrPort(last); err == nil {
		if ap.Addr().Zone() != "" {
			return netip.Addr{}, false // a zone names an interface of the proxy, not a client
		}
		return ap.Addr().Unmap(), true
	}
	ip, err := netip.ParseAddr(last)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// parseForwardedHost accepts a host name or address with an optional port,
// nothing else (no paths, spaces or user info).
func parseForwardedHost(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 255 {
		return "", false
	}
	host := v
	if h, port, err := net.SplitHostPort(v); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5 {
			return "", false
		}
		host = h
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return v, true
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "", false
			}
		}
	}
	return v, true
}
