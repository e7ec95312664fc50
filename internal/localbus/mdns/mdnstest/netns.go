// Package mdnstest builds an isolated test network for real mDNS traffic: a
// network namespace joined to the test's own namespace by a veth pair, with
// a private Avahi (its own D-Bus, its own runtime directory) running inside
// it. Only interfaces it creates carry traffic; nothing reaches the LAN. It
// is imported only by tests, and needs root and iproute2 (present in CI,
// where scripts/test-deps.sh installs them); elsewhere the tests skip.
package mdnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hubagent/hubagent/internal/testutil"
)

// Net is a namespace "peer" side and a host side of one veth link, with a
// /24 between them. The test process lives on the host side.
type Net struct {
	Name   string // namespace name
	HostIf string // interface in the test's namespace
	PeerIf string // interface inside the namespace
	prefix string // "10.250.N."
	t      testing.TB
}

// HostIP is the test process's address on the link.
func (n *Net) HostIP() string { return n.prefix + "1" }

// PeerIP returns address .host of the link's /24, inside the namespace.
func (n *Net) PeerIP(host int) string { return fmt.Sprintf("%s%d", n.prefix, host) }

// New creates the namespace and link, removed at the end of the test.
func New(t testing.TB) *Net { return newLink(t, "", nil) }

// Star is a namespace of its own (for an agent under test) with a link to
// each of several peer namespaces: nothing else runs in it, so whatever
// it sends or answers comes from the agent.
type Star struct {
	Name  string // the central namespace
	Links []*Net // HostIf is in Name, PeerIf in the link's own namespace
}

// NewStar creates the central namespace and k links out of it.
func NewStar(t testing.TB, k int) *Star {
	t.Helper()
	requireRoot(t)
	name := "hbs" + randomTag()
	t.Logf("test star: namespace %s", name)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	s := &Star{Name: name}
	used := map[string]bool{}
	for range k {
		l := newLink(t, name, used)
		used[l.prefix] = true
		s.Links = append(s.Links, l)
	}
	return s
}

// IP runs ip -n <central namespace> args.
func (s *Star) IP(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", s.Name}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", s.Name, strings.Join(args, " "), err, out)
	}
}

// Do runs fn on an OS thread moved into the central namespace.
func (s *Star) Do(fn func() error) error { return doIn(s.Name, fn) }

// Exec returns a command that runs inside the central namespace.
func (s *Star) Exec(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", s.Name, name}, args...)...)
}

func requireRoot(t testing.TB) {
	t.Helper()
	testutil.LookTool(t, "ip")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("mdns tests need root for network namespaces")
		}
		t.Skip("mdns tests need root for network namespaces")
	}
}

func randomTag() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newLink creates a peer namespace and a veth link to it from hostNS ("":
// the test's own namespace).
func newLink(t testing.TB, hostNS string, avoid map[string]bool) *Net {
	t.Helper()
	requireRoot(t)
	// Names are random per link (6 hex digits, within IFNAMSIZ with the
	// prefix and suffix), so tests running at once never share one.
	tag := randomTag()
	n := &Net{Name: "hbt" + tag, HostIf: "hbt" + tag + "h", PeerIf: "hbt" + tag + "p", t: t}
	// A /24 no link of this namespace uses yet: two links with one prefix
	// would make routing, and the test, ambiguous.
	local := map[string]bool{}
	if hostNS == "" {
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				ip := ipn.IP.To4()
				local[fmt.Sprintf("%d.%d.%d.", ip[0], ip[1], ip[2])] = true
			}
		}
	}
	for {
		var b [1]byte
		_, _ = rand.Read(b[:])
		n.prefix = fmt.Sprintf("10.250.%d.", int(b[0])%250+1)
		if !avoid[n.prefix] && !local[n.prefix] {
			break
		}
	}
	run := func(args ...string) {
		t.Helper()
		if hostNS != "" {
			args = append([]string{"-n", hostNS}, args...)
		}
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	inPeer := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"-n", n.Name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, out)
		}
	}
	t.Logf("test network: namespace %s, link %s–%s, %s0/24", n.Name, n.HostIf, n.PeerIf, n.prefix)
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.Name, err, out)
	}
	t.Cleanup(func() {
		if hostNS == "" {
			_ = exec.Command("ip", "link", "del", n.HostIf).Run()
		}
		_ = exec.Command("ip", "netns", "del", n.Name).Run()
	})
	run("link", "add", n.HostIf, "type", "veth", "peer", "name", n.PeerIf, "netns", n.Name)
	run("addr", "add", n.HostIP()+"/24", "dev", n.HostIf)
	run("link", "set", n.HostIf, "up", "multicast", "on")
	inPeer("addr", "add", n.PeerIP(2)+"/24", "dev", n.PeerIf)
	inPeer("link", "set", n.PeerIf, "up", "multicast", "on")
	inPeer("link", "set", "lo", "up")
	return n
}

// AddPeerIP adds address .host inside the namespace (a device's new IP).
func (n *Net) AddPeerIP(host int) string {
	n.t.Helper()
	ip := n.PeerIP(host)
	out, err := exec.Command("ip", "netns", "exec", n.Name, "ip", "addr", "add", ip+"/24", "dev", n.PeerIf).CombinedOutput()
	if err != nil {
		n.t.Fatalf("add %s: %v: %s", ip, err, out)
	}
	return ip
}

// Do runs fn on an OS thread moved into the namespace. Sockets fn opens
// stay in the namespace after it returns; the thread is discarded.
func (n *Net) Do(fn func() error) error { return doIn(n.Name, fn) }

func doIn(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is never unlocked: it dies with the goroutine rather
		// than going back to the pool in the wrong namespace.
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Listen opens a TCP listener inside the namespace, closed at test end.
func (n *Net) Listen(addr string) net.Listener {
	n.t.Helper()
	var ln net.Listener
	if err := n.Do(func() (err error) { ln, err = net.Listen("tcp4", addr); return err }); err != nil {
		n.t.Fatalf("listen %s in namespace: %v", addr, err)
	}
	n.t.Cleanup(func() { ln.Close() })
	return ln
}

// ListenUDP opens a UDP socket inside the namespace, closed at test end.
func (n *Net) ListenUDP(addr string) *net.UDPConn {
	n.t.Helper()
	var c *net.UDPConn
	err := n.Do(func() error {
		a, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return err
		}
		c, err = net.ListenUDP("udp4", a)
		return err
	})
	if err != nil {
		n.t.Fatalf("udp %s in namespace: %v", addr, err)
	}
	n.t.Cleanup(func() { c.Close() })
	return c
}
