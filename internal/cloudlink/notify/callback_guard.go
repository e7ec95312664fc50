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

	"github.com/hubagent/hubagent/internal/cloudlink/addrguard"
	"github.com/hubagent/hubagent/internal/device"
)

// callbackError is INVALID_CALLBACK with a reason.
func callbackError(format string, args ...any) *device.Error {
	return &device.Error{Code: device.CodeInvalidCallback, Message: "callback URL " + fmt.Sprintf(format, args...)}
}

// CheckCallback validates a callback URL for a partner at subscribe time:
// https, a host the partner registered, and (unless the partner may use
// private addresses) a name that resolves only to global unicast addresses.
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
		if err := addrguard.Check(a); err != nil {
			return nil, callbackError("host %s resolves to a forbidden address: %v", host, err)
		}
	}
	return u, nil
}

// guardedDialer dials only global unicast addresses (addrguard; unless
// allowPrivate, the explicit allowance for LAN partners and tests). The check
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
			if err := addrguard.Check(ap.Addr()); err != nil {
				return fmt.Errorf("notify: refusing to dial %s: %w", address, err)
			}
			return nil
		},
	}
}
