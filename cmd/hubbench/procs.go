package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process hubbench started: the agent or the broker. Its
// stderr is kept (the last part only) for error messages.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
}

// startProc starts bin with args in dir. The process is not tied to ctx:
// it is stopped explicitly, so that a Ctrl-C still lets it shut down
// cleanly (SIGTERM first) instead of being killed mid-write.
func startProc(name, bin, dir string, env []string, args ...string) (*proc, error) {
	p := &proc{name: name, out: &tailBuffer{max: 32 << 10}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Own process group: the terminal's Ctrl-C goes to hubbench, which
	// then stops its children in order.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// pid is the process id (for /proc).
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to within, then kills.
func (p *proc) stop(within time.Duration) {
	if p == nil || p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(within):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// errorf wraps an error with the process's last output.
func (p *proc) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s\n--- %s output ---\n%s", p.name, fmt.Sprintf(format, args...), p.name, p.out.String())
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// procStatus reads one "Key: value kB" field of /proc/<pid>/status, in bytes.
func procStatus(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read process status: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", key, err)
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n, nil
	}
	return 0, fmt.Errorf("no %s in process status", key)
}

// anonRSS is pid's anonymous resident memory in bytes (RssAnon): what it
// holds that the kernel cannot drop and read back from a file.
func anonRSS(pid int) int64 {
	n, _ := procStatus(pid, "RssAnon")
	return n
}

// rss is the resident set size of pid in bytes (VmRSS).
func rss(pid int) int64 {
	n, _ := procStatus(pid, "VmRSS")
	return n
}

// clearRefs clears the kernel's referenced bits of pid's pages, so that
// referenced can later tell which pages it touched since.
func clearRefs(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("1"), 0)
}

// workingSet is what pid touched since clearRefs, in bytes: all pages and
// the file-backed ones (the binary's). RSS counts every page mapped; the
// kernel maps up to 64 KiB of cached file pages around each fault, so a
// binary's RSS can be far more than the code it runs.
type workingSet struct{ total, file int64 }

func referenced(pid int) (workingSet, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return workingSet{}, err
	}
	var ws workingSet
	fileBacked := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			// A mapping's header: range perms offset dev inode [path].
			fileBacked = len(f) >= 6 && strings.HasPrefix(f[5], "/")
		case len(f) == 3 && f[0] == "Referenced:":
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return workingSet{}, fmt.Errorf("smaps: %q: %w", line, err)
			}
			ws.total += n * 1024
			if fileBacked {
				ws.file += n * 1024
			}
		}
	}
	return ws, nil
}

// ioCounters are the fields of /proc/<pid>/io hubbench uses: wchar counts
// every byte handed to write(2), write_bytes what reached the block layer.
type ioCounters struct{ wchar, writeBytes int64 }

func readIO(pid int) (ioCounters, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return ioCounters{}, fmt.Errorf("read process io: %w", err)
	}
	var c ioCounters
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "wchar":
			c.wchar = n
		case "write_bytes":
			c.writeBytes = n
		}
	}
	return c, nil
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// findHubagent returns the agent binary: the flag, else a hubagent next
// to hubbench's own executable, else one built now into dir (which needs
// the Go toolchain and this module, as `go run ./cmd/hubbench` has).
func findHubagent(ctx context.Context, flagPath, dir string) (string, error) {
	if flagPath != "" {
		if _, err := os.Stat(flagPath); err != nil {
			return "", fmt.Errorf("--hubagent: %w", err)
		}
		return filepath.Abs(flagPath)
	}
	if self, err := os.Executable(); err == nil {
		next := filepath.Join(filepath.Dir(self), "hubagent")
		if st, err := os.Stat(next); err == nil && !st.IsDir() {
			return next, nil
		}
	}
	bin := filepath.Join(dir, "hubagent")
	// Built as packaging/build.sh builds it for the gateway arches (arm64,
	// armv7: no HTTP/2, no relay server or conformance kit), so the figures
	// are those of the binary a gateway runs; its pages are resident memory.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-tags", "nethttpomithttp2,gateway",
		"-ldflags", "-s -w", "-o", bin, "github.com/hubagent/hubagent/cmd/hubagent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build hubagent (or pass --hubagent): %w\n%s", err, out)
	}
	return bin, nil
}

// startMosquitto runs mosquitto on a free loopback port with its files in
// dir. Unlimited queues: a QoS 0 message to a busy subscriber must not be
// dropped by the broker, or no side of a throughput run would see them all.
func startMosquitto(ctx context.Context, bin, dir string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	u, err := user.Current()
	if err != nil {
		return nil, "", fmt.Errorf("current user: %w", err)
	}
	conf := strings.Join([]string{
		"listener " + port + " 127.0.0.1",
		"allow_anonymous true",
		// As root mosquitto would switch to its own user, which cannot
		// write this temp dir; stay who we are.
		"user " + u.Username,
		"persistence true",
		"persistence_location " + dir + "/",
		"max_queued_messages 0",
		// Latency figures must not wait on Nagle's algorithm in the broker.
		"set_tcp_nodelay true",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
	}, "\n") + "\n"
	cfg := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return nil, "", fmt.Errorf("write mosquitto config: %w", err)
	}
	p, err := startProc("mosquitto", bin, dir, os.Environ(), "-c", cfg)
	if err != nil {
		return nil, "", err
	}
	if err := waitListening(ctx, p, addr, 10*time.Second); err != nil {
		p.stop(time.Second)
		return nil, "", err
	}
	return p, addr, nil
}

// waitListening waits until addr accepts connections.
func waitListening(ctx context.Context, p *proc, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return p.errorf("exited before listening on %s", addr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return p.errorf("not listening on %s after %v", addr, within)
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errStalled says a phase stopped making progress before its goal.
var errStalled = errors.New("stalled")

// cpuTime is the CPU time (user + system) pid has used, from
// /proc/<pid>/stat in clock ticks of 1/100 s (USER_HZ on Linux).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields follow its last ')'.
	s := string(b)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(rest) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(rest[11], 10, 64)
	k, _ := strconv.ParseInt(rest[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

// selfCPU is the CPU time hubbench itself has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
