package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// ForwardRefusedError is a tcpip-forward the relay declined. OpenSSH sends
// no reason with the refusal (it logs it on the relay), so the error names
// the two causes it can be.
type ForwardRefusedError struct{ Addr string }

func (e *ForwardRefusedError) Error() string {
	return fmt.Sprintf("relay refused to listen on %s for this hub (tcpip-forward denied): "+
		"either this hub's key may not listen there (the permitlisten option of its line in the relay's authorized_keys names another address; "+
		"compare with 'hubagent tunnel pubkey') or the port is taken on the relay (another hub, or this hub's previous session not yet timed out)", e.Addr)
}

// AuthError is the relay refusing the hub's key.
type AuthError struct {
	User string
	Err  error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("relay refused this hub's key for user %q: add the line printed by 'hubagent tunnel pubkey' to the relay's authorized_keys (%v)", e.User, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// session runs one connection: dial, handshake, forward, serve until the
// connection ends or ctx does. connected reports whether the forward was
// set up.
func (t *Tunnel) session(ctx context.Context) (connected bool, err error) {
	cb, algos, err := t.keys.callback()
	if err != nil {
		return false, err
	}
	dctx, cancel := context.WithTimeout(ctx, t.opts.DialTimeout)
	defer cancel()
	conn, err := t.opts.Dial(dctx, "tcp", t.opts.Relay)
	if err != nil {
		return false, fmt.Errorf("dial relay %s: %w", t.opts.Relay, err)
	}
	conn = quickAck(conn)
	// The handshake and the forward request must finish in DialTimeout: a
	// relay that takes the TCP connection and then says nothing would
	// otherwise hold this attempt for ever. Closing the connection is the
	// only way to interrupt the ssh package.
	stopWatch := context.AfterFunc(dctx, func() { conn.Close() })
	var relayKey ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: t.opts.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(t.opts.Signer)},
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			relayKey = key
			return cb(host, remote, key)
		},
		HostKeyAlgorithms: algos,
		// Names the client in the relay's logs.
		ClientVersion: "SSH-2.0-hubagent",
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, t.opts.Relay, cfg)
	if err != nil {
		stopWatch()
		conn.Close()
		return false, t.describeHandshake(dctx, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	ln, err := client.Listen("tcp", t.opts.RemoteListen)
	if !stopWatch() {
		if err == nil {
			ln.Close()
		}
		return false, fmt.Errorf("relay %s: no answer to the forward request within %v", t.opts.Relay, t.opts.DialTimeout)
	}
	if err != nil {
		if strings.Contains(err.Error(), "request denied by peer") {
			return false, &ForwardRefusedError{Addr: t.opts.RemoteListen}
		}
		return false, fmt.Errorf("forward request to relay %s: %w", t.opts.Relay, err)
	}

	// The same timeouts as the LAN listener: the relay's port is as
	// public as the hub gets.
	srv := &http.Server{
		Handler:           Forwarded(t.opts.Handler, t.opts.TrustForwarded),
		ConnContext:       t.connContext,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(t.log.Handler(), slog.LevelDebug),
	}
	t.connected(relayKey)
	done := make(chan error, 3)
	stop := make(chan struct{})
	guard := func(name string, f func() error) {
		go func() {
			defer func() {
				if p := recover(); p != nil {
					done <- fmt.Errorf("internal error in %s (recovered): %v", name, p)
				}
			}()
			done <- f()
		}()
	}
	guard("forwarded connections", func() error {
		return fmt.Errorf("forward listener closed: %w", srv.Serve(deadlineListener{ln}))
	})
	guard("connection watch", func() error {
		return fmt.Errorf("relay closed the connection: %w", client.Wait())
	})
	guard("keepalive", func() error { return t.keepalive(client, stop) })
	select {
	case <-ctx.Done():
		err = nil
	case err = <-done:
	}
	close(stop)
	// Client first: closing the listener sends cancel-tcpip-forward, which
	// would wait for a reply from a relay that may be gone.
	client.Close()
	srv.Close()
	return true, err
}

func (t *Tunnel) connContext(ctx context.Context, c net.Conn) context.Context {
	ctx = context.WithValue(ctx, viaTunnelKey{}, true)
	if t.opts.ConnContext != nil {
		ctx = t.opts.ConnContext(ctx, c)
	}
	return ctx
}

// keepalive asks the relay for a reply every interval and gives up on the
// connection when one does not come within the next interval, so a relay
// that went silent (uplink gone, NAT entry dropped) is noticed within two
// intervals. OpenSSH answers keepalive@openssh.com with a failure, which
// counts: any reply proves the connection lives.
func (t *Tunnel) keepalive(client *ssh.Client, stop <-chan struct{}) error {
	iv := t.opts.KeepaliveInterval
	tick := time.NewTicker(iv)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		timer := time.NewTimer(iv)
		select {
		case err := <-reply:
			timer.Stop()
			if err != nil {
				return fmt.Errorf("keepalive: %w", err)
			}
		case <-timer.C:
			return fmt.Errorf("relay did not answer a keepalive within %v; connection presumed dead", iv)
		case <-stop:
			timer.Stop()
			return nil
		}
	}
}

// describeHandshake turns a handshake failure into an error that says what
// to do about it.
func (t *Tunnel) describeHandshake(ctx context.Context, err error) error {
	var hk *HostKeyError
	switch {
	case errors.As(err, &hk):
		return hk
	case strings.Contains(err.Error(), "unable to authenticate"):
		return &AuthError{User: t.opts.User, Err: err}
	case ctx.Err() != nil:
		return fmt.Errorf("ssh handshake with relay %s: no answer within %v", t.opts.Relay, t.opts.DialTimeout)
	}
	return fmt.Errorf("ssh handshake with relay %s: %w", t.opts.Relay, err)
}
