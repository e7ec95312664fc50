package hub

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

func newHub(t *testing.T, timeout time.Duration) (*Hub, *store.Store) {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(context.Background(), Options{Store: s, CommandTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); s.Close() })
	return h, s
}

func light(id string) *device.Device {
	return &device.Device{
		ID: id, Name: id, Category: device.CategoryLight, Online: true, Source: "test",
		Properties: []device.Property{
			{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite},
			{Name: "brightness", Type: device.TypeInt, Min: device.Num(0), Max: device.Num(100), Access: device.AccessReadWrite},
			{Name: "humidity", Type: device.TypeInt, Access: device.AccessRead},
		},
	}
}

// echoDriver plays a device: it reports what it was sent after a delay,
// unless mute.
type echoDriver struct {
	h          *Hub
	delay      time.Duration
	mute       bool
	optimistic bool
	mu         sync.Mutex
	sent       []map[string]device.Value
}

func (d *echoDriver) Send(ctx context.Context, dev *device.Device, props map[string]device.Value) (bool, error) {
	d.mu.Lock()
	d.sent = append(d.sent, props)
	d.mu.Unlock()
	if !d.mute && !d.optimistic {
		go func() {
			time.Sleep(d.delay) // the device's answer time, which the tests set
			d.h.ReportState(dev.ID, props, time.Now())
		}()
	}
	return d.optimistic, nil
}

func (d *echoDriver) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sent)
}

func TestControlConfirmsWhenDeviceEchoes(t *testing.T) {
	h, s := newHub(t, 2*time.Second)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	drv := &echoDriver{h: h, delay: 20 * time.Millisecond}
	h.RegisterDriver("test", drv)
	st, err := h.Control(ctx, "l1", map[string]device.Value{"power": device.Bool(true), "brightness": device.Float(50)})
	if err != nil {
		t.Fatal(err)
	}
	if !st["brightness"].Equal(device.Int(50)) || !st["power"].Equal(device.Bool(true)) {
		t.Fatalf("state = %v", st)
	}
	if v := drv.sent[0]["brightness"]; v.Kind() != device.KindInt {
		t.Errorf("driver got %v (kind %d), want the value coerced to int", v, v.Kind())
	}
	h.Flush(ctx)
	d, _ := s.Device(ctx, "l1")
	if !d.State["brightness"].Equal(device.Int(50)) {
		t.Errorf("stored state = %v", d.State)
	}
}

func TestControlTimesOutWhenDeviceNeverEchoes(t *testing.T) {
	h, _ := newHub(t, 150*time.Millisecond)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	h.RegisterDriver("test", &echoDriver{h: h, mute: true})
	start := time.Now()
	_, err := h.Control(ctx, "l1", map[string]device.Value{"power": device.Bool(true)})
	if device.CodeOf(err) != device.CodeDeviceTimeout {
		t.Fatalf("err = %v, want DEVICE_TIMEOUT", err)
	}
	if el := time.Since(start); el < 150*time.Millisecond || el > 2*time.Second {
		t.Errorf("timed out after %v, want about 150ms", el)
	}
	if h.Stats().Timeouts != 1 {
		t.Error("timeout not counted")
	}
}

func TestControlOptimisticConfirmsAtOnce(t *testing.T) {
	h, _ := newHub(t, time.Second)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	h.RegisterDriver("test", &echoDriver{h: h, optimistic: true})
	st, err := h.Control(ctx, "l1", map[string]device.Value{"power": device.Bool(true)})
	if err != nil || !st["power"].Equal(device.Bool(true)) {
		t.Fatalf("state %v err %v", st, err)
	}
}

func TestControlRejectsBeforeSending(t *testing.T) {
	h, _ := newHub(t, time.Second)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	off := light("off1")
	off.Online = false
	h.UpsertDevice(ctx, off)
	drv := &echoDriver{h: h}
	h.RegisterDriver("test", drv)
	for _, tc := range []struct {
		name  string
		id    string
		props map[string]device.Value
		want  device.Code
	}{
		{"unknown device", "nope", map[string]device.Value{"power": device.Bool(true)}, device.CodeDeviceNotFound},
		{"unknown property", "l1", map[string]device.Value{"colour": device.String("red")}, device.CodePropertyNotSupported},
		{"read-only property", "l1", map[string]device.Value{"humidity": device.Int(3)}, device.CodePropertyReadOnly},
		{"out of range", "l1", map[string]device.Value{"brightness": device.Int(101)}, device.CodeValueOutOfRange},
		{"wrong type", "l1", map[string]device.Value{"power": device.String("on")}, device.CodeValueOutOfRange},
		{"offline", "off1", map[string]device.Value{"power": device.Bool(true)}, device.CodeDeviceOffline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Control(ctx, tc.id, tc.props)
			if got := device.CodeOf(err); got != tc.want {
				t.Fatalf("code %s (%v), want %s", got, err, tc.want)
			}
		})
	}
	if drv.count() != 0 {
		t.Fatalf("driver was sent %d commands for invalid writes", drv.count())
	}
}

func TestControlFailsWhenDeviceGoesOffline(t *testing.T) {
	h, _ := newHub(t, 5*time.Second)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	h.RegisterDriver("test", &echoDriver{h: h, mute: true})
	go func() {
		time.Sleep(30 * time.Millisecond) // while Control waits for a confirmation that never comes
		h.SetOnline("l1", false)
	}()
	_, err := h.Control(ctx, "l1", map[string]device.Value{"power": device.Bool(true)})
	if !errors.Is(err, device.ErrDeviceOffline) {
		t.Fatalf("err = %v, want DEVICE_OFFLINE", err)
	}
}

func TestSlowConsumerDoesNotStallIngest(t *testing.T) {
	h, _ := newHub(t, time.Second)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	slow := h.Subscribe(4) // never read
	fast := h.Subscribe(2000)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			h.ReportState("l1", map[string]device.Value{"brightness": device.Int(int64(i % 100))}, time.Now())
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ingest blocked behind a consumer that does not read")
	}
	if slow.Dropped() == 0 {
		t.Error("slow consumer dropped nothing")
	}
	n := 0
	for len(fast.C) > 0 {
		e := <-fast.C
		if e.Type == StateChanged {
			n++
		}
	}
	if n != 1000 || fast.Dropped() != 0 {
		t.Errorf("fast consumer got %d StateChanged, dropped %d; want 1000, 0", n, fast.Dropped())
	}
}

func TestReportStateIgnoresUnchangedAndUndeclared(t *testing.T) {
	h, _ := newHub(t, time.Second)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	if !h.ReportState("l1", map[string]device.Value{"power": device.Bool(true)}, time.Time{}) {
		t.Fatal("first report not a change")
	}
	if h.ReportState("l1", map[string]device.Value{"power": device.Bool(true)}, time.Time{}) {
		t.Fatal("same value counted as a change")
	}
	if h.ReportState("l1", map[string]device.Value{"bogus": device.Int(1)}, time.Time{}) {
		t.Fatal("undeclared property accepted")
	}
}

func TestRegistrySurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	s, _ := store.Open(ctx, path, store.Options{})
	h, _ := New(ctx, Options{Store: s})
	h.UpsertDevice(ctx, light("l1"))
	h.ReportState("l1", map[string]device.Value{"brightness": device.Int(42)}, time.Now())
	h.Close()
	s.Close()
	s, _ = store.Open(ctx, path, store.Options{})
	defer s.Close()
	h, err := New(ctx, Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	d, ok := h.Device("l1")
	if !ok || !d.State["brightness"].Equal(device.Int(42)) {
		t.Fatalf("after restart: %v %v", ok, d)
	}
}

// roundingDriver echoes brightness rounded down to a multiple of 10, the way
// a device with a coarser internal scale would, and says so via Expect.
type roundingDriver struct{ h *Hub }

func (d *roundingDriver) Send(ctx context.Context, dev *device.Device, props map[string]device.Value) (bool, error) {
	go d.h.ReportState(dev.ID, d.Expect(dev, props), time.Now())
	return false, nil
}

func (d *roundingDriver) Expect(dev *device.Device, props map[string]device.Value) map[string]device.Value {
	out := map[string]device.Value{}
	for k, v := range props {
		if i, ok := v.AsInt(); ok && k == "brightness" {
			v = device.Int(i / 10 * 10)
		}
		out[k] = v
	}
	return out
}

func TestControlConfirmsExpectedEchoOfDriver(t *testing.T) {
	h, _ := newHub(t, time.Second)
	ctx := context.Background()
	h.UpsertDevice(ctx, light("l1"))
	h.RegisterDriver("test", &roundingDriver{h: h})
	st, err := h.Control(ctx, "l1", map[string]device.Value{"brightness": device.Int(57)})
	if err != nil {
		t.Fatal(err)
	}
	if !st["brightness"].Equal(device.Int(50)) {
		t.Fatalf("state = %v, want the device's own rounding 50", st)
	}
}

func TestSubscribeByTypeReceivesOnlyThoseEvents(t *testing.T) {
	h, _ := newHub(t, time.Second)
	ctx := context.Background()
	devs := h.Subscribe(16, DeviceAdded, DeviceRemoved)
	all := h.Subscribe(16)
	h.UpsertDevice(ctx, light("l1"))
	h.ReportState("l1", map[string]device.Value{"power": device.Bool(true)}, time.Now())
	h.SetOnline("l1", false)
	h.RemoveDevice(ctx, "l1")
	var got []EventType
	for len(devs.C) > 0 {
		got = append(got, (<-devs.C).Type)
	}
	if len(got) != 2 || got[0] != DeviceAdded || got[1] != DeviceRemoved {
		t.Fatalf("filtered consumer got %v", got)
	}
	if len(all.C) != 4 {
		t.Fatalf("unfiltered consumer got %d events, want 4", len(all.C))
	}
	if devs.Dropped() != 0 {
		t.Fatal("filtered-out events counted as dropped")
	}
}

// With a flush interval, an online change waiting for the flush is written
// before a changed description (whose row carries the flag), so the older
// value cannot overwrite the newer one afterwards.
func TestDescriptionChangeAfterPendingOnlineChangeKeepsTheNewerFlag(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := New(ctx, Options{Store: s, Writer: store.WriterOptions{FlushInterval: time.Hour, Tick: make(chan time.Time)}})
	if err != nil {
		t.Fatal(err)
	}
	h.UpsertDevice(ctx, light("l1"))
	h.SetOnline("l1", false) // waits for the flush
	renamed := light("l1")
	renamed.Name, renamed.Online = "Hall", true
	if err := h.UpsertDevice(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := s.Device(ctx, "l1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Hall" || !d.Online {
		t.Fatalf("stored %q online=%v, want Hall online=true", d.Name, d.Online)
	}
}

// After a restart a source's devices are offline until it confirms them.
// Confirming one that is where it was announces nothing and writes
// nothing; one that went offline while the agent was down is announced
// offline (and stored so); a device no longer confirmed stays as stored.
func TestUnconfirmedDevicesAnnounceOnlyRealChanges(t *testing.T) {
	ctx := context.Background()
	h, s, events := restartedHub(t, "stays", "died", "gone")
	for _, id := range []string{"stays", "died", "gone"} {
		if d, _ := h.Device(id); d.Online {
			t.Fatalf("%s online before its source confirmed it", id)
		}
	}
	h.RegisterDriver("test", &echoDriver{h: h})
	var derr *device.Error
	if _, err := h.Control(ctx, "stays", map[string]device.Value{"power": device.Bool(true)}); !errors.As(err, &derr) || derr.Code != device.CodeDeviceOffline {
		t.Fatalf("control of an unconfirmed device: %v, want DEVICE_OFFLINE", err)
	}
	h.SetOnline("stays", true)
	h.SetOnline("died", false)
	if d, _ := h.Device("stays"); !d.Online {
		t.Fatal("confirmed device still offline")
	}
	got := drain(events)
	if len(got) != 1 || got[0].DeviceID != "died" || got[0].Online {
		t.Fatalf("events %+v, want only died going offline", got)
	}
	if stored, want := storedOnline(t, h, s), map[string]bool{"stays": true, "died": false, "gone": true}; !maps.Equal(stored, want) {
		t.Fatalf("stored online flags %v, want %v", stored, want)
	}
	// A broker lost now is announced for every device partners believe
	// online, confirmed or not.
	h.SetSourceOnline("test", false)
	got = drain(events)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.DeviceID)
	}
	if !slices.Equal(ids, []string{"gone", "stays"}) {
		t.Fatalf("offline announced for %v, want gone and stays", ids)
	}
}
