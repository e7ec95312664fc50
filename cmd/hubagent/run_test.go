package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

func TestRunOnDefaultsServesHealthzAndKeepsIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := startAgent(t, dir)
	h := a.healthz(t, 3*time.Second)
	if h["status"] != "ok" || h["version"] == "" || h["devices"] != float64(0) {
		t.Fatalf("healthz = %v", h)
	}
	id := h["hubId"].(string)
	data := filepath.Join(dir, "hubagent-data")
	cert1, err := os.ReadFile(filepath.Join(data, "tls_cert.pem"))
	if err != nil {
		t.Fatal("no self-signed certificate in ./hubagent-data:", err)
	}
	for _, f := range []string{"tls_key.pem", "hubagent.db", "hubagent.sock"} {
		fi, err := os.Stat(filepath.Join(data, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v err %v, want 0600", f, fi.Mode().Perm(), err)
		}
	}
	if code := a.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, a.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "hubagent.sock")); !os.IsNotExist(err) {
		t.Error("socket left behind after a clean stop")
	}

	b := startAgent(t, dir)
	h2 := b.healthz(t, 3*time.Second)
	cert2, _ := os.ReadFile(filepath.Join(data, "tls_cert.pem"))
	if h2["hubId"] != id || string(cert1) != string(cert2) {
		t.Fatalf("second start changed identity: hub %v -> %v, cert same: %v", id, h2["hubId"], string(cert1) == string(cert2))
	}
	if code := b.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("second run exit code %d", code)
	}
}

func TestSecondAgentOnSameDataDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := startAgent(t, dir)
	a.healthz(t, 3*time.Second)
	b := startAgent(t, dir)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		t.Fatal("second agent kept running")
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(b.stderr.String(), "already running") {
		t.Fatalf("exit %d, stderr %q", code, b.stderr)
	}
}

func seedDevices(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	os.MkdirAll(data, 0o700)
	s, err := store.Open(ctx, filepath.Join(data, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := &device.Device{ID: "lamp-1", Name: "Desk lamp", Category: device.CategoryLight, Online: true, Source: "mqtt",
		Properties: []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}}
	if err := s.UpsertDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(store.WriterOptions{})
	w.Put(store.Change{DeviceID: "lamp-1", Property: "power", Value: device.Bool(true), At: time.Now()})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDevicesJSONWithAndWithoutAgent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A missing data directory is an error (a mistyped --data must not
	// look like an empty hub), and listing does not create it.
	_, errOut, code := hubagent(t, dir, "devices", "--json")
	if code != 1 || !strings.Contains(errOut, "hubagent-data does not exist") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("missing data directory: %q exit %d", errOut, code)
	}
	if _, err := os.Stat(filepath.Join(dir, "hubagent-data")); !os.IsNotExist(err) {
		t.Error("listing devices created a data directory")
	}
	// An existing data directory without a database is a hub without
	// devices.
	os.Mkdir(filepath.Join(dir, "hubagent-data"), 0o700)
	out, errOut, code := hubagent(t, dir, "devices", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("fresh store: %q %q exit %d", out, errOut, code)
	}
	if _, err := os.Stat(filepath.Join(dir, "hubagent-data", "hubagent.db")); !os.IsNotExist(err) {
		t.Error("listing devices created a database")
	}
	data := filepath.Join(dir, "hubagent-data")
	seedDevices(t, data)
	check := func(when string) {
		out, errOut, code := hubagent(t, dir, "devices", "--json", "--data", data)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", when, code, errOut)
		}
		var ds []map[string]any
		if err := json.Unmarshal([]byte(out), &ds); err != nil {
			t.Fatalf("%s: %v: %s", when, err, out)
		}
		if len(ds) != 1 || ds[0]["deviceId"] != "lamp-1" || ds[0]["category"] != "light" ||
			ds[0]["state"].(map[string]any)["power"] != true {
			t.Fatalf("%s: devices = %s", when, out)
		}
	}
	check("without agent")
	a := startAgent(t, dir, "--data", data)
	a.healthz(t, 3*time.Second)
	check("with agent")
	out, _, _ = hubagent(t, dir, "device", "get", "lamp-1", "--data", data)
	if !strings.Contains(out, "Desk lamp") {
		t.Errorf("device get: %s", out)
	}
}

func TestBadInputGivesOneLineErrorAndExitCode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.toml")
	os.WriteFile(badCfg, []byte("[api]\nlisten = \":8443\"\n[mqtt]\nbroker = \"foo://x\"\n"), 0o600)
	syntax := filepath.Join(dir, "syntax.toml")
	os.WriteFile(syntax, []byte("[api\nlisten = 1\n"), 0o600)
	corruptData := filepath.Join(dir, "corrupt")
	os.MkdirAll(corruptData, 0o700)
	garbage := []byte(strings.Repeat("garbage!", 1000))
	os.WriteFile(filepath.Join(corruptData, store.FileName), garbage, 0o600)
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	occupied := holder.Addr().String()

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"invalid config value", []string{"run", "--config", badCfg}, 1, "bad.toml:4"},
		{"config syntax", []string{"run", "--config", syntax}, 1, "syntax.toml:1"},
		{"unreadable config", []string{"run", "--config", filepath.Join(dir, "missing.toml")}, 1, "missing.toml"},
		{"occupied port", []string{"run", "--data", filepath.Join(dir, "d1"), "--api-listen", occupied, "--mqtt-listen", freePort(t)}, 1, "address already in use"},
		{"corrupt database", []string{"run", "--data", corruptData, "--api-listen", freePort(t), "--mqtt-listen", freePort(t)}, 1, "hubagent.db"},
		{"unknown flag", []string{"run", "--nope"}, 2, "-nope"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"missing args", []string{"device", "set"}, 2, "want"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, tc.args...)
			cmd.Dir = dir
			cmd.Env = cleanEnv()
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, out)
			}
			msg := strings.TrimRight(string(out), "\n")
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Fatalf("want one line containing %q, got %q", tc.want, msg)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(corruptData, store.FileName)); string(got) != string(garbage) {
		t.Error("corrupt database was overwritten")
	}
}

func TestDataDirWithoutWritePermission(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to run the agent as an unprivileged user")
	}
	dir, err := os.MkdirTemp("", "hubagent-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o755) // owned by root: not writable by nobody
	cmd := exec.Command(binPath, "run", "--data", data, "--api-listen", freePort(t), "--mqtt-listen", freePort(t))
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := cmd.CombinedOutput()
	msg := strings.TrimSpace(string(out))
	if cmd.ProcessState.ExitCode() != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, "not writable") {
		t.Fatalf("exit %d: %q", cmd.ProcessState.ExitCode(), msg)
	}
}
