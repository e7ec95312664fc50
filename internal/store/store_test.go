package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func lamp(id string) *device.Device {
	return &device.Device{
		ID: id, Name: "Lamp " + id, Category: device.CategoryLight, Manufacturer: "IKEA",
		Model: "LED1545G12", Room: "Living room", Online: true, Source: "mqtt",
		Binding: []byte(`{"topic":"zigbee2mqtt/` + id + `"}`),
		Properties: []device.Property{
			{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite},
			{Name: "brightness", Type: device.TypeInt, Unit: "percent", Min: device.Num(0), Max: device.Num(100), Step: device.Num(1), Access: device.AccessReadWrite},
			{Name: "mode", Type: device.TypeEnum, Values: []string{"a", "b"}, Access: device.AccessRead},
		},
	}
}

func TestMigrationsFromEmptyAndRerun(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.DB().QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("user_version = %d, want %d", v, SchemaVersion())
	}
	s.Close()
	// A second open applies nothing and keeps the data.
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, err := migrate(ctx, s.DB())
	if err != nil || applied != 0 {
		t.Fatalf("re-run applied %d, err %v; want 0, nil", applied, err)
	}
	for _, table := range []string{"kv", "devices", "properties", "state"} {
		var n int
		if err := s.DB().QueryRow("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: n=%d err=%v", table, n, err)
		}
	}
	var mode string
	if err := s.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this hubagent knows") {
		t.Fatalf("err = %v, want a refusal naming the newer schema", err)
	}
	_, err = Open(ctx, path, Options{ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), "newer than this hubagent knows") {
		t.Fatalf("read-only err = %v, want a refusal", err)
	}
}

func TestOpenReportsCorruptFileAndKeepsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	garbage := []byte(strings.Repeat("this is not a database\n", 400))
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want an error naming %s", err, path)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(garbage) {
		t.Fatal("corrupt database file was modified")
	}
}

func TestOpenCreatesFilesPrivate(t *testing.T) {
	s := openTemp(t)
	if err := s.SetKV(context.Background(), "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		fi, err := os.Stat(s.Path() + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", s.Path()+suffix, fi.Mode().Perm())
		}
	}
}

func TestReadOnlyOpenOfMissingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if _, err := Open(context.Background(), path, Options{ReadOnly: true}); err == nil {
		t.Fatal("want ErrNotExist")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("read-only open created the database")
	}
}

func TestHubIDMadeOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id1, err := s.HubID(ctx)
	if err != nil || len(id1) != 16 {
		t.Fatalf("hub id %q, %v", id1, err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id2, _ := s.HubID(ctx)
	if id1 != id2 {
		t.Fatalf("hub id changed across opens: %s -> %s", id1, id2)
	}
}

func TestDeviceRoundTrip(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	d := lamp("lamp-1")
	if err := s.UpsertDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterOptions{})
	now := time.UnixMilli(time.Now().UnixMilli())
	for _, c := range []Change{
		{DeviceID: "lamp-1", Property: "power", Value: device.Bool(true), At: now},
		{DeviceID: "lamp-1", Property: "brightness", Value: device.Int(80), At: now},
		{DeviceID: "ghost", Property: "power", Value: device.Bool(true), At: now}, // unknown device: skipped
	} {
		if err := w.Put(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Device(ctx, "lamp-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != d.Name || got.Category != d.Category || got.Room != d.Room || got.Source != "mqtt" || string(got.Binding) != string(d.Binding) {
		t.Errorf("device fields differ: %+v", got)
	}
	if len(got.Properties) != 3 || got.Properties[1].Name != "brightness" || *got.Properties[1].Max != 100 || got.Properties[2].Values[1] != "b" {
		t.Errorf("properties differ: %+v", got.Properties)
	}
	if !got.State["power"].Equal(device.Bool(true)) || !got.State["brightness"].Equal(device.Int(80)) {
		t.Errorf("state = %v", got.State)
	}
	if !got.UpdatedAt.Equal(now) {
		t.Errorf("updatedAt = %v, want %v", got.UpdatedAt, now)
	}
	if _, err := s.Device(ctx, "ghost"); device.CodeOf(err) != device.CodeDeviceNotFound {
		t.Errorf("ghost: %v", err)
	}
	if err := s.DeleteDevice(ctx, "lamp-1"); err != nil {
		t.Fatal(err)
	}
	var n int
	testutil.Scan(t, s.DB().QueryRow("SELECT count(*) FROM state"), &n)
	if ds, _ := s.Devices(ctx); len(ds) != 0 || n != 0 {
		t.Errorf("after delete: %d devices, %d state rows", len(ds), n)
	}
}
