// Package tunnel keeps the hub reachable from partner clouds: an outbound
// SSH connection to a relay running stock OpenSSH, a remote port forward
// (tcpip-forward) on the relay, and the agent's HTTP handler served on every
// forwarded connection. The relay's nginx terminates TLS and proxies
// hub-<id>.<domain> to that port.
//
// The loop that keeps the tunnel up never gives up: each attempt runs under
// recover, failures back off exponentially with jitter (1 s to 60 s), and
// keepalives detect a relay that went silent.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Defaults for the timing options.
const (
	DefaultKeepaliveInterval = 15 * time.Second
	DefaultMinBackoff        = time.Second
	DefaultMaxBackoff        = 60 * time.Second
	DefaultDialTimeout       = 20 * time.Second
)

// Options configure a tunnel.
type Options struct {
	Relay        string // host:port of the relay's sshd
	User         string // user on the relay
	RemoteListen string // host:port the relay listens on for this hub
	// HostKey is the relay's public key (authorized_keys format). Empty
	// requires AcceptNew.
	HostKey string
	// AcceptNew trusts the first key the relay presents and pins it in
	// PinFile; later connections require that key.
	AcceptNew bool
	PinFile   string
	// Signer is the hub's key (LoadOrCreateKey).
	Signer ssh.Signer
	// Handler serves the forwarded connections (plain HTTP; the relay
	// terminates TLS).
	Handler http.Handler
	// TrustForwarded applies the relay's X-Forwarded-* headers (Forwarded).
	TrustForwarded bool
	// ConnContext, if set, is applied to each forwarded connection's
	// context, so the handler can tell tunnel requests apart (cloudlink
	// refuses /metrics on them).
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	Logger      *slog.Logger

	// Timing; zero means the default.
	KeepaliveInterval time.Duration // also how long a keepalive reply may take
	MinBackoff        time.Duration
	MaxBackoff        time.Duration
	DialTimeout       time.Duration // TCP connect, SSH handshake and the forward request

	// Dial, if set, replaces the TCP dialer (tests put faults here).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Now and After, if set, replace the wall clock that stamps the status
	// and the timer that paces attempts, so tests check the backoff
	// without waiting it out.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Tunnel is one hub's tunnel to its relay. Run keeps it up; Status reads
// its state from any goroutine.
type Tunnel struct {
	opts  Options
	log   *slog.Logger
	keys  *hostKeys
	clock func() time.Time

	mu sync.Mutex
	st Status
}

// New checks the options and builds a tunnel; nothing is dialled yet.
func New(opts Options) (*Tunnel, error) {
	if opts.Relay == "" || opts.User == "" || opts.RemoteListen == "" {
		return nil, errors.New("tunnel: relay, user and remote listen address are required")
	}
	if opts.Signer == nil || opts.Handler == nil {
		return nil, errors.New("tunnel: signer and handler are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.KeepaliveInterval <= 0 {
		opts.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	keys := &hostKeys{relay: opts.Relay, pinFile: opts.PinFile, log: opts.Logger}
	switch {
	case opts.HostKey != "":
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(opts.HostKey))
		if err != nil {
			return nil, fmt.Errorf("tunnel: relay host key: %w", err)
		}
		keys.pinned = k
	case opts.AcceptNew:
		if opts.PinFile == "" {
			return nil, errors.New("tunnel: accept_new needs a pin file")
		}
	default:
		return nil, errors.New("tunnel: the relay's host key is required (or accept_new)")
	}
	t := &Tunnel{opts: opts, log: opts.Logger, keys: keys, clock: opts.Now}
	t.st = Status{State: StateConnecting, Relay: opts.Relay, User: opts.User, RemoteListen: opts.RemoteListen}
	return t, nil
}

// Run keeps the tunnel up until ctx ends, then closes it and returns nil.
// No error or panic in one attempt stops it.
func (t *Tunnel) Run(ctx context.Context) error {
	bo := newBackoff(t.opts.MinBackoff, t.opts.MaxBackoff)
	for ctx.Err() == nil {
		began := t.clock()
		connected, err := t.attempt(ctx)
		if ctx.Err() != nil {
			break
		}
		// A session that held for a while starts the next one afresh; a
		// relay that accepts and drops at once keeps backing off.
		if connected && t.clock().Sub(began) >= t.opts.MaxBackoff {
			bo.reset()
		}
		wait := bo.next()
		t.failed(err, connected, wait)
		select {
		case <-ctx.Done():
		case <-t.opts.After(wait):
		}
	}
	t.update(func(s *Status) {
		s.State, s.Since, s.NextAttempt = StateOff, nil, nil
		s.Reason = "the agent is stopping"
	})
	return nil
}

// attempt runs one connection, recovering a panic into an error so the
// loop goes on.
func (t *Tunnel) attempt(ctx context.Context) (connected bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			t.log.Error("tunnel attempt panicked; backing off and retrying", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error (recovered): %v", p)
		}
	}()
	t.update(func(s *Status) {
		s.State, s.NextAttempt = StateConnecting, nil
		s.Attempts++
	})
	return t.session(ctx)
}

// failed records the end of an attempt.
func (t *Tunnel) failed(err error, wasConnected bool, wait time.Duration) {
	if err == nil {
		err = errors.New("connection closed")
	}
	now := t.clock()
	next := now.Add(wait)
	t.update(func(s *Status) {
		s.State, s.Since, s.NextAttempt = StateError, nil, &next
		s.LastError, s.LastErrorAt = err.Error(), &now
	})
	msg, level := "tunnel attempt failed", slog.LevelWarn
	if wasConnected {
		msg = "tunnel lost; reconnecting"
	}
	// Refusals need the operator (a changed relay key may be an
	// impersonation), so they are logged as errors, not as weather.
	var hk *HostKeyError
	var fr *ForwardRefusedError
	var ae *AuthError
	if errors.As(err, &hk) || errors.As(err, &fr) || errors.As(err, &ae) {
		level = slog.LevelError
	}
	t.log.Log(context.Background(), level, msg, "relay", t.opts.Relay, "err", err, "retry_in", wait.Round(time.Millisecond))
}

func (t *Tunnel) connected(relayKey ssh.PublicKey) {
	now := t.clock()
	t.update(func(s *Status) {
		if s.Sessions > 0 {
			s.Reconnects++
		}
		s.Sessions++
		s.State, s.Since, s.NextAttempt = StateConnected, &now, nil
		s.RelayKey = relayKey.Type() + " " + ssh.FingerprintSHA256(relayKey)
	})
	t.log.Info("tunnel connected", "relay", t.opts.Relay, "remote", t.opts.RemoteListen)
}

func (t *Tunnel) update(f func(*Status)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.st)
}

// Status returns a copy of the tunnel's state.
func (t *Tunnel) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st
}
