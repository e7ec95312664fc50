package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Nginx is a real nginx run by a test in the foreground (daemon off) with
// its prefix, pid file, logs and temp paths in a temp dir.
type Nginx struct {
	t    testing.TB
	bin  string
	Dir  string
	conf string
	cmd  *exec.Cmd
	done chan struct{}
	logs *SyncBuffer
}

// RelayNginxConf is the relay's nginx block from packaging, its server
// blocks moved to listen (a loopback host:port, TLS), the domain
// relay.example replaced by domain, its certificate and the enrollment
// service's address pointed at the test's, and its included files
// (hubs.map, enrolled.map, enrolled.upstreams; made empty when missing)
// in dir.
func RelayNginxConf(t testing.TB, listen, domain, certFile, keyFile, dir, enrollAddr string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "packaging", "relay", "nginx", "hubagent-relay.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hubs.map", "enrolled.map", "enrolled.upstreams"} {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err != nil {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := string(raw)
	var out []string
	for _, l := range strings.Split(c, "\n") {
		if strings.Contains(l, "listen [::]:443") {
			continue // loopback only
		}
		out = append(out, l)
	}
	c = strings.Join(out, "\n")
	r := strings.NewReplacer(
		"listen 443 ", "listen "+listen+" ",
		"relay.example", domain,
		"/etc/hubagent-relay/tls/fullchain.pem", certFile,
		"/etc/hubagent-relay/tls/privkey.pem", keyFile,
		"/etc/hubagent-relay/", dir+"/",
		"http://127.0.0.1:8089", "http://"+enrollAddr,
		// One shared zone name per nginx; tests may run several.
		"shared:hubagent:10m", "shared:hubagent:1m",
	)
	return r.Replace(c)
}

// StartNginx runs nginx with a main configuration that includes body (the
// http-level blocks). It waits until wait (a host:port) accepts
// connections, and stops nginx when the test ends.
func StartNginx(t testing.TB, body, wait string) *Nginx {
	t.Helper()
	n := &Nginx{t: t, bin: LookTool(t, "nginx"), Dir: t.TempDir()}
	for _, d := range []string{"tmp", "logs"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	user := ""
	if os.Geteuid() == 0 {
		// As root nginx would switch its workers to nobody, who cannot
		// read the test's temp dir.
		user = "user root;"
	}
	main := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log info;
events { worker_connections 4096; }
http {
    access_log %[2]s/logs/access.log;
    client_body_temp_path %[2]s/tmp/body;
    proxy_temp_path %[2]s/tmp/proxy;
    fastcgi_temp_path %[2]s/tmp/fastcgi;
    uwsgi_temp_path %[2]s/tmp/uwsgi;
    scgi_temp_path %[2]s/tmp/scgi;
    include %[2]s/site.conf;
}
`, user, n.Dir)
	n.conf = filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(n.conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "site.conf"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	n.logs = &SyncBuffer{}
	n.cmd = exec.Command(n.bin, n.args("-g", "daemon off;")...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(n.Stop)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", wait, time.Second); err == nil {
			c.Close()
			return n
		}
		select {
		case <-n.done:
			t.Fatalf("nginx exited: %s\n%s", n.logs, n.ErrorLog())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening on %s within 10s: %s", wait, n.ErrorLog())
		}
	}
}

func (n *Nginx) args(extra ...string) []string {
	return append([]string{"-p", n.Dir + "/", "-c", n.conf, "-e", filepath.Join(n.Dir, "logs", "error.log")}, extra...)
}

// ReloadCommand is the command line that makes this nginx reload its
// configuration (for relay serve --reload).
func (n *Nginx) ReloadCommand() string {
	return n.bin + " " + strings.Join(n.args("-s", "reload"), " ")
}

// ErrorLog returns nginx's error log.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "logs", "error.log"))
	return string(b)
}

// Stop ends nginx and its workers (its own process group).
func (n *Nginx) Stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
	}
	n.cmd = nil
}

// PIDs lists nginx's master and worker processes.
func (n *Nginx) PIDs() []int {
	if n.cmd == nil {
		return nil
	}
	pids := []int{n.cmd.Process.Pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(n.cmd.Process.Pid) {
			p, _ := strconv.Atoi(e.Name())
			pids = append(pids, p)
		}
	}
	return pids
}

// PIDFile is nginx's pid file (for relay serve --nginx-pid).
func (n *Nginx) PIDFile() string { return filepath.Join(n.Dir, "nginx.pid") }
