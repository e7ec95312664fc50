package tunnel

import (
	"net"
	"syscall"
)

// quickAck makes the hub acknowledge the relay's segments at once instead
// of after Linux's delayed-ACK timer (up to 40 ms). OpenSSH sets
// TCP_NODELAY only for sessions with a pty, so on a hub's session Nagle's
// algorithm holds each new forwarded channel's first packet until the
// previous one is acknowledged: without this, every partner request on a
// new connection waited for the hub's delayed ACK, and a busy hub served
// about 70 requests/s through the relay instead of thousands
// (BenchmarkRelayCapacity/forward-no-keepalive). Linux clears QUICKACK
// after it acts, so it is set again after every read.
func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, rc: rc}
}

type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	c.rc.Control(func(fd uintptr) { //nolint:errcheck // best effort: only latency is at stake
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1) //nolint:errcheck
	})
	return n, err
}
