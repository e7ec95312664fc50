package localbus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
)

// fakeDriver is the smallest MDNSDriver: every _fake._tcp instance found
// becomes an on/off device, and a command is echoed back as its state.
type fakeDriver struct {
	h     *hub.Hub
	found chan mdns.Instance
	fail  error // Run returns it at once when set
}

func newFakeDriver(h *hub.Hub) *fakeDriver {
	return &fakeDriver{h: h, found: make(chan mdns.Instance, 16)}
}

func (f *fakeDriver) Source() string           { return "fake" }
func (f *fakeDriver) Services() []string       { return []string{"_fake._tcp"} }
func (f *fakeDriver) Found(inst mdns.Instance) { f.found <- inst }

func (f *fakeDriver) Run(ctx context.Context) error {
	if f.fail != nil {
		return f.fail
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case inst := <-f.found:
			if inst.Gone {
				continue
			}
			dev := &device.Device{ID: "fake-" + strings.ToLower(inst.Name), Name: inst.Name, Category: device.CategorySwitch,
				Online: true, Source: f.Source(), Properties: []device.Property{
					{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}}
			if err := f.h.UpsertDevice(ctx, dev); err != nil {
				return err
			}
		}
	}
}

func (f *fakeDriver) Send(_ context.Context, d *device.Device, props map[string]device.Value) (bool, error) {
	f.h.ReportState(d.ID, props, time.Now())
	return false, nil
}

// Adding a driver is one Register call: with it, the registry browses for
// the driver's service (a real browser, an instance announced by Avahi),
// hands it what is found, runs it, and routes the hub's commands to it.
func TestRegisteringADriverIsAllItTakes(t *testing.T) {
	t.Parallel() // its own network namespace, Avahi and hub
	n := mdnstest.New(t)
	av := n.StartAvahi("")
	h := mdnstest.Hub(t)
	drivers := localbus.NewDrivers(h)
	fake := newFakeDriver(h)
	if err := drivers.Register(fake); err != nil {
		t.Fatal(err)
	}
	n.Browser([]string{"_fake._tcp"}, func(b *mdns.Browser) { drivers.Watch(b) })
	mdnstest.Go(t, drivers.Run)

	ip := n.AddPeerIP(10)
	av.PublishAll([]string{"-a", "-R", "plug.local", ip}, []string{"-s", "-H", "plug.local", "Plug", "_fake._tcp", "80"})
	mdnstest.WaitDevice(t, h, "fake-plug", 10*time.Second, "the announced instance", func(d *device.Device) bool { return d.Online })

	state, err := h.Control(context.Background(), "fake-plug", map[string]device.Value{"power": device.Bool(true)})
	if err != nil {
		t.Fatalf("control through the registered driver: %v", err)
	}
	if !state["power"].Equal(device.Bool(true)) {
		t.Errorf("state after control = %v, want power true", state)
	}
}

// Two drivers cannot own one source: the second Register is refused and
// the first keeps the commands.
func TestRegisterRefusesASecondDriverForASource(t *testing.T) {
	h := mdnstest.Hub(t)
	drivers := localbus.NewDrivers(h)
	if err := drivers.Register(newFakeDriver(h)); err != nil {
		t.Fatal(err)
	}
	err := drivers.Register(newFakeDriver(h))
	if err == nil || !strings.Contains(err.Error(), `"fake"`) {
		t.Errorf("second Register for source fake = %v, want an error naming it", err)
	}
}

// A driver that cannot go on stops the others and Run says which one:
// the agent stops with it instead of running without it.
func TestRunEndsOnADriverError(t *testing.T) {
	h := mdnstest.Hub(t)
	drivers := localbus.NewDrivers(h)
	healthy := newFakeDriver(h)
	broken := &otherSource{fakeDriver: newFakeDriver(h)}
	broken.fail = errors.New("bus unusable")
	for _, d := range []localbus.Driver{healthy, broken} {
		if err := drivers.Register(d); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- drivers.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, broken.fail) || !strings.Contains(err.Error(), "other") {
			t.Errorf("Run = %v, want the broken driver's error naming its source", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after a driver failed")
	}
}

// otherSource is a fakeDriver under another source name.
type otherSource struct{ *fakeDriver }

func (otherSource) Source() string { return "other" }
