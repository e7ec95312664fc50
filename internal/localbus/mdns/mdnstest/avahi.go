package mdnstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

// Avahi is a private avahi-daemon inside the namespace, on a private
// D-Bus, so it needs no system bus and cannot clash with a host's Avahi.
type Avahi struct {
	n    *Net
	dir  string
	env  []string
	t    testing.TB
	logs *testutil.SyncBuffer
}

const busConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`

const avahiConf = `[server]
host-name=%s
use-ipv4=yes
use-ipv6=no
allow-interfaces=%s
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-aaaa-on-ipv4=no
`

// StartAvahi starts D-Bus and avahi-daemon for the namespace. Services
// files (Avahi's static *.service XML) in servicesDir, if not "", are
// published as well.
func (n *Net) StartAvahi(servicesDir string) *Avahi {
	t := n.t
	t.Helper()
	daemon := testutil.LookTool(t, "avahi-daemon")
	dbusDaemon := testutil.LookTool(t, "dbus-daemon")
	testutil.LookTool(t, "avahi-publish")
	// A short directory: the bus socket path must fit in sun_path.
	dir, err := os.MkdirTemp("", "hbavahi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "bus")
	a := &Avahi{n: n, dir: dir, t: t, logs: &testutil.SyncBuffer{},
		env: append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=unix:path="+sock)}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bus := exec.Command(dbusDaemon, "--nofork", "--nopidfile", "--config-file="+write("bus.conf", fmt.Sprintf(busConf, sock)))
	bus.Stdout, bus.Stderr = a.logs, a.logs
	a.start(bus)
	testutil.Eventually(t, 5*time.Second, "D-Bus socket", func() bool { _, err := os.Stat(sock); return err == nil })

	conf := write("avahi.conf", fmt.Sprintf(avahiConf, n.Name+"-avahi", n.PeerIf))
	// avahi-daemon insists on /run/avahi-daemon for its pid file and
	// socket; a private mount namespace gives it its own.
	script := "mount -t tmpfs none /run && mkdir -p /run/avahi-daemon"
	if servicesDir != "" {
		script += " && mount --bind " + servicesDir + " /etc/avahi/services"
	}
	script += " && exec " + daemon + " --no-drop-root --no-chroot --no-rlimits -f " + conf
	av := exec.Command("ip", "netns", "exec", n.Name, "unshare", "-m", "sh", "-c", script)
	av.Env = a.env
	av.Stdout, av.Stderr = a.logs, a.logs
	a.start(av)
	if !testutil.Poll(10*time.Second, func() bool { return strings.Contains(a.logs.String(), "Server startup complete") }) {
		t.Fatalf("avahi-daemon did not start: %s", a.logs.String())
	}
	return a
}

func (a *Avahi) start(cmd *exec.Cmd) {
	a.t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start %s: %v", cmd.Path, err)
	}
	a.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
}

// Logs returns what the daemons printed so far.
func (a *Avahi) Logs() string { return a.logs.String() }

// Publish runs avahi-publish with args until Stop (which makes Avahi send
// goodbye packets) or the end of the test. It waits until Avahi says the
// record is established.
func (a *Avahi) Publish(args ...string) *Publication {
	a.t.Helper()
	return a.PublishAll(args)[0]
}

// PublishAll is Publish for several records at once: it starts every
// avahi-publish, then waits until all are established. Avahi probes each
// name for about a second before it is established, and the probes of
// records started together overlap.
func (a *Avahi) PublishAll(argLists ...[]string) []*Publication {
	a.t.Helper()
	ps := make([]*Publication, len(argLists))
	outs := make([]*testutil.SyncBuffer, len(argLists))
	for i, args := range argLists {
		cmd := exec.Command("avahi-publish", args...)
		cmd.Env = a.env
		outs[i] = &testutil.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			a.t.Fatalf("avahi-publish: %v", err)
		}
		p := &Publication{cmd: cmd, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(p.done) }()
		a.t.Cleanup(p.Stop)
		ps[i] = p
	}
	for i, args := range argLists {
		if !testutil.Poll(10*time.Second, func() bool { return strings.Contains(outs[i].String(), "Established") }) {
			a.t.Fatalf("avahi-publish %s: not established within 10s: %s", strings.Join(args, " "), outs[i].String())
		}
	}
	return ps
}

// Browse runs avahi-browse -rpt for a service type and returns its
// resolved ("=") lines.
func (a *Avahi) Browse(service string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "avahi-browse", "-rpt", service)
	cmd.Env = a.env
	out, _ := cmd.Output()
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "=") {
			lines = append(lines, l)
		}
	}
	return lines
}

// Publication is one running avahi-publish.
type Publication struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Stop ends avahi-publish; Avahi withdraws the record with a goodbye.
func (p *Publication) Stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}
