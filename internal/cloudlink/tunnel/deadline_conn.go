package tunnel

import (
	"io"
	"net"
)

// deadlineListener gives forwarded connections read and write deadlines,
// which SSH channels lack (x/crypto/ssh answers "deadline not supported").
// Without them the http.Server's timeouts do nothing through the tunnel: a
// partner, or anyone who reaches the relay's port, could hold a connection
// open forever by sending slowly, and an early answer's lingering close
// could not be bounded in time.
type deadlineListener struct{ net.Listener }

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return withDeadlines(c), nil
}

// withDeadlines puts a net.Pipe, which has deadlines, between the channel
// and the server. Either side ending closes both: an HTTP/1 server treats a
// client's EOF as the end of the connection anyway.
func withDeadlines(ch net.Conn) net.Conn {
	server, inner := net.Pipe()
	go func() {
		io.Copy(ch, inner) //nolint:errcheck // ends when either side closes
		ch.Close()
		inner.Close()
	}()
	go func() {
		io.Copy(inner, ch) //nolint:errcheck // ends when either side closes
		inner.Close()
	}()
	return &pipeConn{Conn: server, local: ch.LocalAddr(), remote: ch.RemoteAddr()}
}

// pipeConn reports the channel's addresses rather than net.Pipe's.
type pipeConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *pipeConn) LocalAddr() net.Addr  { return c.local }
func (c *pipeConn) RemoteAddr() net.Addr { return c.remote }
