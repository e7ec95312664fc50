package relay

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The relay's sshd holds each hub's forward as a listening socket on
// 127.0.0.1:PORT in that hub's session process. Reading /proc tells which
// hubs are connected, and which process to stop when a hub is removed:
// stock OpenSSH has no other way to end one user's session from outside.

// maxProcLine bounds one line of /proc/net/tcp.
const maxProcLine = 512

// loopbackListeners returns port -> socket inode of the TCP sockets
// listening on 127.0.0.1, read from a /proc/net/tcp table.
func loopbackListeners(r io.Reader) (map[int]uint64, error) {
	out := map[int]uint64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, maxProcLine), maxProcLine)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue // header
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		addr, port, ok := strings.Cut(f[1], ":")
		if !ok || addr != "0100007F" { // 127.0.0.1, little-endian hex
			continue
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			continue
		}
		ino, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			continue
		}
		out[int(p)] = ino
	}
	return out, sc.Err()
}

// Listeners reads this host's loopback TCP listeners (port -> inode).
func Listeners() (map[int]uint64, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return nil, fmt.Errorf("relay: listeners: %w", err)
	}
	defer f.Close()
	return loopbackListeners(f)
}

// stopHolders sends SIGTERM to the sshd processes holding any of the
// sockets (by inode), and returns their pids. Processes that are not sshd
// are never touched.
func stopHolders(inodes map[uint64]bool) ([]int, error) {
	if len(inodes) == 0 {
		return nil, nil
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("relay: stop sessions: %w", err)
	}
	var stopped []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
		if err != nil || !strings.HasPrefix(string(comm), "sshd") {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
			if err == nil && inodes[ino] {
				if err := syscall.Kill(pid, syscall.SIGTERM); err == nil {
					stopped = append(stopped, pid)
				}
				break
			}
		}
	}
	return stopped, nil
}

// StopSession ends the sshd session listening on 127.0.0.1:port, if any,
// and returns the pids signalled.
func StopSession(port int) ([]int, error) {
	ls, err := Listeners()
	if err != nil {
		return nil, err
	}
	ino, ok := ls[port]
	if !ok {
		return nil, nil
	}
	return stopHolders(map[uint64]bool{ino: true})
}
