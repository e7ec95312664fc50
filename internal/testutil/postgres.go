package testutil

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// Postgres is a real PostgreSQL server (Debian's postgresql package) run by
// a test: initdb into a temp dir, listening on a free loopback port and a
// socket in that dir. As root it runs as the "postgres" user (PostgreSQL
// refuses to run as root).
type Postgres struct {
	t    testing.TB
	bin  string
	dir  string
	port string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan struct{}
	logs *SyncBuffer
}

// postgresBin finds the server's bin directory (initdb is not on PATH in
// Debian's packaging).
func postgresBin(t testing.TB) string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) > 0 {
		return filepath.Dir(dirs[len(dirs)-1])
	}
	if os.Getenv("CI") != "" {
		t.Fatal("PostgreSQL server is not installed (run scripts/test-deps.sh)")
	}
	t.Skip("PostgreSQL server (initdb) is not installed; run scripts/test-deps.sh to install the real parts")
	return ""
}

// StartPostgres initialises and starts a server; it is stopped and removed
// when the test ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p := &Postgres{t: t, bin: postgresBin(t)}
	dir, err := os.MkdirTemp("", "hubagent-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	_, p.port, _ = net.SplitHostPort(FreeAddr(t))
	initdb := exec.Command(filepath.Join(p.bin, "initdb"), "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// DSN is the server's connection URL (database postgres, trust auth).
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", p.port)
}

// Start runs the server and waits until it answers queries.
func (p *Postgres) Start() {
	p.t.Helper()
	p.logs = &SyncBuffer{}
	p.cmd = exec.Command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.dir, "data"), "-k", p.dir, "-p", p.port,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", "max_connections=60")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.Dir = p.dir
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() { cmd.Wait(); close(done) }()
	db, err := sql.Open("pgx", p.DSN())
	if err != nil {
		p.t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			p.t.Fatalf("postgres exited: %s", p.logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postgres not ready within 20s: %v\n%s", err, p.logs)
		}
	}
}

// Stop shuts the server down (fast shutdown).
func (p *Postgres) Stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	p.cmd = nil
}
