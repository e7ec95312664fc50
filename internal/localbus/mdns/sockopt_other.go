//go:build !linux

package mdns

import "net"

// multicastAllOff is Linux-only: elsewhere sockets hear only the groups
// they joined, and the interface filter in read does the rest.
func multicastAllOff(*net.UDPConn) error { return nil }
