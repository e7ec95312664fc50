package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// mountTmpfs mounts a tmpfs of size bytes for the test, or skips it when
// this machine does not allow mounting (not root, no CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var id [4]byte
	rand.Read(id[:])
	name := "hubagent-test-" + hex.EncodeToString(id[:])
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), name, dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs for the full-disk test (needs root): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s; detaching lazily", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// fill writes a file until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
}

// The row: the data directory's disk fills, writes retry, sign-in
// answers 500 and /healthz keeps saying "ok". Now /healthz turns
// "degraded" (503) within 10 s, and back to "ok" once space returns, with
// nothing lost: state and a device announced while the disk was full are
// in the database afterwards.
func TestHostileFullDiskTurnsHealthDegradedAndRecovers(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, 32<<20)
	data := filepath.Join(mnt, "data")
	dir := t.TempDir()
	// data_dir in the file too, so commands given --config alone find it.
	cfg := fmt.Sprintf("data_dir = %q\n\n[mdns]\nenabled = false\n", data)
	if err := os.WriteFile(filepath.Join(dir, "hubagent.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	mqttAddr := freePort(t)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--data", data, "--mqtt-listen", mqttAddr)
	ag.healthz(t, 10*time.Second)
	if code, h := ag.health(t); code != 200 || h["status"] != "ok" {
		t.Fatalf("healthz before the disk fills: %d %v", code, h)
	}
	app := pahoAt(t, mqttAddr, "meters")
	pub := func(topic, payload string) {
		t.Helper()
		if tok := app.Publish(topic, 1, true, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	meter := func(id string) {
		pub("homeassistant/sensor/"+id+"/e/config",
			`{"name":"E","state_topic":"`+id+`/e","unit_of_measurement":"kWh","device":{"identifiers":["`+id+`"]}}`)
	}
	devices := func() map[string]device.Device { return listDevices(t, dir, "--data", data) }
	meter("m1")
	pub("m1/e", "1")
	testutil.Eventually(t, 10*time.Second, "the first meter", func() bool {
		return devices()["mqtt-m1"].State["e"].Equal(device.Float(1))
	})

	fill(t, filepath.Join(mnt, "filler"))
	full := time.Now()
	// Traffic while the disk is full: state changes and a new device.
	for i := 2; i <= 20; i++ {
		pub("m1/e", fmt.Sprint(i))
	}
	meter("m2")
	pub("m2/e", "7")
	var h map[string]any
	var code int
	if !testutil.Poll(10*time.Second-time.Since(full), func() bool {
		code, h = ag.health(t)
		return code == 503 && h["status"] == "degraded"
	}) {
		t.Fatalf("/healthz still %d %v 10 s after the disk filled", code, h)
	}
	t.Logf("/healthz degraded %v after the disk filled: %v", time.Since(full).Round(time.Millisecond), h["problem"])
	if got := ag.metric(t, "hubagent_store_healthy"); got != 0 {
		t.Errorf("hubagent_store_healthy = %v on a full disk", got)
	}
	t.Logf("failed state commits while full: %v", ag.metric(t, "hubagent_store_write_failures_total"))

	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	if !testutil.Poll(20*time.Second, func() bool {
		code, h = ag.health(t)
		return code == 200 && h["status"] == "ok"
	}) {
		t.Fatalf("/healthz still %d %v 20 s after space returned\n%s", code, h, ag.stderr)
	}
	t.Logf("/healthz ok %v after space returned", time.Since(freed).Round(time.Millisecond))
	if got := ag.metric(t, "hubagent_store_healthy"); got != 1 {
		t.Errorf("hubagent_store_healthy = %v after recovery", got)
	}
	testutil.Eventually(t, 15*time.Second, "the meter announced while the disk was full", func() bool {
		return devices()["mqtt-m2"].State["e"].Equal(device.Float(7))
	})
	if code := ag.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("agent exit %d\n%s", code, ag.stderr)
	}
	// The database, read with the agent stopped: nothing accepted was lost.
	ds := devices()
	if !ds["mqtt-m1"].State["e"].Equal(device.Float(20)) || !ds["mqtt-m2"].State["e"].Equal(device.Float(7)) {
		t.Errorf("stored after recovery: m1 %v, m2 %v; want e=20 and e=7", ds["mqtt-m1"].State, ds["mqtt-m2"].State)
	}
}
