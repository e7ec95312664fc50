package notify

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// forbiddenAddr reports why an address must not be a partner callback: the
// hub sits inside a home, so a callback must never be a way to reach the
// LAN, the hub itself or a cloud metadata service.
func forbiddenAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip.IsUnspecified():
		return "unspecified"
	}
	// Carrier-grade NAT space is the ISP's side of many home links.
	if ip.Is4() && netip.MustParsePrefix("100.64.0.0/10").Contains(ip) {
		return "shared address space"
	}
	return ""
}

// callbackError is INVALID_CALLBACK with a reason.
func callbackError(format string, args ...any) *device.Error {
	return &device.Error{Code: device.CodeInvalidCallback, Message: "callback URL " + fmt.Sprintf(format, args...)}
}

// CheckCallback validates a callback URL for a partner at subscribe time:
// https, a host the partner registered, and (unless the partner may use
// private addresses) a name that resolves only to public addresses.
func CheckCallback(ctx context.Context, raw string, hosts []string, allowPrivate bool, resolver *net.Resolver) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, callbackError("is not an absolute URL")
	}
	if u.Scheme != "https" {
		return nil, callbackError("must use https")
	}
	if u.User != nil {
		return nil, callbackError("must not carry credentials")
	}
	host := strings.ToLower(u.Hostname())
	registered := false
	for _, h := range hosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), strings.TrimSuffix(host, ".")) {
			registered = true
			break
		}
	}
	if !registered {
		return nil, callbackError("host %s is not registered for this partner", host)
	}
	if allowPrivate {
		return u, nil
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := resolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return nil, callbackError("host %s does not resolve", host)
	}
	for _, a := range addrs {
		if why := forbiddenAddr(a); why != "" {
			return nil, callbackError("host %s resolves to a %s address", host, why)
		}
	}
	return u, nil
}

// guardedDialer dials only public addresses (unless allowPrivate). The check
// runs on the address actually being connected, after name resolution, for
// every connection: a name that resolved to a public address at subscribe
// time and to 127.0.0.1 now (DNS rebinding) is refused here.
func guardedDialer(allowPrivate bool) *net.Dialer {
	return &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("notify: refusing to dial %s: %w", address, err)
			}
			if why := forbiddenAddr(ap.Addr()); why != "" {
				return fmt.Errorf("notify: refusing to dial %s: %s address", address, why)
			}
			return nil
		},
	}
}
