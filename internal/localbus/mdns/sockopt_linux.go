package mdns

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// multicastAllOff clears IP_MULTICAST_ALL on the socket.
func multicastAllOff(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("turn IP_MULTICAST_ALL off: %w", serr)
	}
	return nil
}
