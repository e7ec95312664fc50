package shelly_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/localbus/shelly"
	"github.com/hubagent/hubagent/internal/testutil"
)

type rig struct {
	n  *mdnstest.Net
	av *mdnstest.Avahi
	b  *mdns.Browser
	h  *hub.Hub
}

func newRig(t *testing.T, password string) *rig {
	n := mdnstest.New(t)
	r := &rig{n: n, av: n.StartAvahi(""), h: mdnstest.Hub(t)}
	var drv *shelly.Driver
	r.b = n.Browser([]string{"_shelly._tcp"}, func(b *mdns.Browser) {
		drv = shelly.New(shelly.Options{Hub: r.h, PollInterval: 200 * time.Millisecond, Timeout: 500 * time.Millisecond,
			Password: password, Status: b.SetStatus})
		r.h.RegisterDriver(shelly.Source, drv)
		b.Watch("_shelly._tcp", drv.Found)
	})
	mdnstest.Go(t, drv.Run)
	return r
}

// placed is a fake device on address .host of the link.
type placed struct {
	f    *fakeShelly
	host int
}

// start serves each fake on its own new address and announces them the way
// Shelly Gen2 firmware does: instance and host named after the device id,
// _shelly._tcp on port 80, TXT gen, app and ver. All are announced at once
// (Avahi's probes overlap). It returns one stop per fake, in order.
func (r *rig) start(ps ...placed) []func() {
	var pubs [][]string
	stops := make([]func(), len(ps))
	for i, p := range ps {
		ip := r.n.AddPeerIP(p.host)
		stopHTTP := p.f.serve(r.n.Listen(ip + ":80"))
		pubs = append(pubs, []string{"-a", "-R", p.f.id + ".local", ip},
			[]string{"-s", "-H", p.f.id + ".local", p.f.id, "_shelly._tcp", "80", "gen=2", "app=" + p.f.app, "ver=1.0.8"})
		stops[i] = stopHTTP
	}
	published := r.av.PublishAll(pubs...)
	for i := range stops {
		stopHTTP, a, s := stops[i], published[2*i], published[2*i+1]
		stops[i] = func() { stopHTTP(); s.Stop(); a.Stop() }
	}
	return stops
}

func online(d *device.Device) bool { return d.Online }

func TestShellyChannelsBecomeDevicesAndAreFollowedAcrossAddressChange(t *testing.T) {
	t.Parallel() // a network namespace of its own
	r := newRig(t, "")
	ctx := context.Background()
	plug := &fakeShelly{id: "shellyplus2pm-a8032ab12345", app: "Plus2PM", model: "SNSW-102P16EU", switches: []bool{false, true}}
	cover := &fakeShelly{id: "shellyplus2pm-c4dd57aa0001", app: "Plus2PM", model: "SNSW-102P16EU", covers: []int{40}}
	dimmer := &fakeShelly{id: "shellyprodm1pm-3ce90e6f0002", app: "ProDimmerx1", model: "SPDM-001PE01EU",
		lights: []struct {
			on  bool
			bri float64
		}{{true, 35}}}
	stopPlug := r.start(placed{plug, 30}, placed{cover, 31}, placed{dimmer, 32})[0]

	// One device per channel: the two relays of the 2PM are two switches.
	sw0 := mdnstest.WaitDevice(t, r.h, "shelly-shellyplus2pm-a8032ab12345-0", 10*time.Second, "relay 0", online)
	sw1 := mdnstest.WaitDevice(t, r.h, "shelly-shellyplus2pm-a8032ab12345-1", 10*time.Second, "relay 1", online)
	if sw0.Category != device.CategorySwitch || !sw0.State["power"].Equal(device.Bool(false)) || !sw1.State["power"].Equal(device.Bool(true)) {
		t.Errorf("relays = %+v / %+v", sw0.State, sw1.State)
	}
	if !sw1.State["power_W"].Equal(device.Float(8.5)) || !sw1.State["energy_kWh"].Equal(device.Float(1.2345)) {
		t.Errorf("metering = %v", sw1.State)
	}
	cv := mdnstest.WaitDevice(t, r.h, "shelly-shellyplus2pm-c4dd57aa0001", 10*time.Second, "cover", online)
	if cv.Category != device.CategoryCurtain || !cv.State["position"].Equal(device.Int(40)) {
		t.Errorf("cover = %+v", cv)
	}
	dm := mdnstest.WaitDevice(t, r.h, "shelly-shellyprodm1pm-3ce90e6f0002", 10*time.Second, "dimmer", online)
	if dm.Category != device.CategoryLight || !dm.State["brightness"].Equal(device.Int(35)) {
		t.Errorf("dimmer = %+v", dm)
	}

	if _, err := r.h.Control(ctx, sw0.ID, map[string]device.Value{"power": device.Bool(true)}); err != nil {
		t.Fatalf("Switch.Set: %v", err)
	}
	if _, err := r.h.Control(ctx, cv.ID, map[string]device.Value{"position": device.Int(75)}); err != nil {
		t.Fatalf("Cover.GoToPosition: %v", err)
	}
	if _, err := r.h.Control(ctx, cv.ID, map[string]device.Value{"motion": device.String("close")}); err != nil {
		t.Fatalf("Cover.Close: %v", err)
	}
	if _, err := r.h.Control(ctx, dm.ID, map[string]device.Value{"brightness": device.Int(80), "power": device.Bool(true)}); err != nil {
		t.Fatalf("Light.Set: %v", err)
	}
	plug.set(func(f *fakeShelly) {
		if !f.switches[0] {
			t.Error("relay 0 not switched on")
		}
		// Reads are GETs, which Go's client retries on a kept-alive
		// connection the device has just closed; writes carry a body.
		if f.verbs["Shelly.GetStatus"] != "GET" || f.verbs["Shelly.GetDeviceInfo"] != "GET" || f.verbs["Switch.Set"] != "POST" {
			t.Errorf("HTTP methods used: %v", f.verbs)
		}
	})
	cover.set(func(f *fakeShelly) {
		if f.covers[0] != 0 || !slices.Contains(f.calls, "Cover.GoToPosition") || !slices.Contains(f.calls, "Cover.Close") {
			t.Errorf("cover at %d after calls %v", f.covers[0], f.calls)
		}
	})
	dimmer.set(func(f *fakeShelly) {
		if f.lights[0].bri != 80 {
			t.Errorf("dimmer at %v", f.lights[0].bri)
		}
	})

	// The plug goes away and comes back on a new address.
	stopPlug()
	mdnstest.WaitDevice(t, r.h, sw0.ID, 5*time.Second, "offline", func(d *device.Device) bool { return !d.Online })
	r.start(placed{plug, 33})
	back := mdnstest.WaitDevice(t, r.h, sw0.ID, 10*time.Second, "back at the new address", online)
	var b shelly.Binding
	_ = json.Unmarshal(back.Binding, &b)
	if b.Addr != r.n.PeerIP(33)+":80" {
		t.Errorf("binding = %+v", b)
	}
	// Each channel is its own device and comes back on its own: wait for
	// the one about to be controlled too.
	mdnstest.WaitDevice(t, r.h, sw1.ID, 10*time.Second, "second relay back", online)
	if _, err := r.h.Control(ctx, sw1.ID, map[string]device.Value{"power": device.Bool(false)}); err != nil {
		t.Fatalf("control at the new address: %v", err)
	}
	if n := len(r.h.Devices()); n != 4 {
		t.Errorf("%d devices, want 4 (two relays, a cover, a dimmer)", n)
	}
}

// A Shelly that does not answer when it is announced (busy, rebooting) is
// not announced again until its records change: the driver tries again by
// itself, and the instance's status follows.
func TestShellyThatDidNotAnswerItsAnnouncementIsAdoptedOnRetry(t *testing.T) {
	t.Parallel() // a network namespace of its own
	r := newRig(t, "")
	f := &fakeShelly{id: "shellyplus1-08b61f000004", app: "Plus1", model: "SNSW-001X16EU", switches: []bool{true}, drop: 1}
	r.start(placed{f, 50})
	const id = "shelly-shellyplus1-08b61f000004"
	mdnstest.WaitDevice(t, r.h, id, 10*time.Second, "adoption on retry", online)
	f.set(func(f *fakeShelly) {
		if f.drop != 0 {
			t.Errorf("adopted with %d dropped requests still to come", f.drop)
		}
	})
	testutil.Eventually(t, 5*time.Second, "instance status ok", func() bool {
		in := r.b.Instances()
		return len(in) == 1 && in[0].Status == "ok"
	})
}

// One poll lost on the way (Wi-Fi) does not turn a Shelly offline and
// online again, which would push both changes to every partner: the
// poller asks again before it decides.
func TestShellyMissingOnePollStaysOnline(t *testing.T) {
	t.Parallel() // a network namespace of its own
	r := newRig(t, "")
	f := &fakeShelly{id: "shellyplus1-08b61f000005", app: "Plus1", model: "SNSW-001X16EU", switches: []bool{true}}
	r.start(placed{f, 51})
	const id = "shelly-shellyplus1-08b61f000005"
	mdnstest.WaitDevice(t, r.h, id, 10*time.Second, "discovery", online)
	sub := r.h.Subscribe(16, hub.OnlineChanged)
	defer sub.Close()
	calls := 0
	f.set(func(f *fakeShelly) { f.drop, calls = 1, len(f.calls) })
	// The dropped poll, then two answered ones (the confirmation and the
	// next tick): the drop is not in calls, answered requests are.
	testutil.Eventually(t, 10*time.Second, "polls answered after the dropped one", func() bool {
		n := 0
		f.set(func(f *fakeShelly) {
			if f.drop == 0 {
				n = len(f.calls) - calls
			}
		})
		return n >= 2
	})
	select {
	case ev := <-sub.C:
		t.Errorf("one lost poll announced %+v", ev)
	default:
	}
	if d, _ := r.h.Device(id); !d.Online {
		t.Error("offline after one lost poll")
	}
}

func TestShellyWithPasswordNeedsDriversPassword(t *testing.T) {
	t.Parallel() // a network namespace of its own
	locked := func() *fakeShelly {
		return &fakeShelly{id: "shellyplus1pm-08b61f000003", app: "Plus1PM", model: "SNSW-001P16EU",
			switches: []bool{true}, password: "s3cret"}
	}
	t.Run("without a password the instance says auth required", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, "")
		r.start(placed{locked(), 40})
		if !testutil.Poll(10*time.Second, func() bool {
			in := r.b.Instances()
			return len(in) == 1 && in[0].Status == "auth required"
		}) {
			t.Fatalf("instances = %+v, want status auth required", r.b.Instances())
		}
		if len(r.h.Devices()) != 0 {
			t.Error("a device was registered without access")
		}
	})
	t.Run("with drivers.shelly_password it is controlled", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, "s3cret")
		f := locked()
		r.start(placed{f, 41})
		const id = "shelly-shellyplus1pm-08b61f000003"
		mdnstest.WaitDevice(t, r.h, id, 10*time.Second, "discovery", online)
		if _, err := r.h.Control(context.Background(), id, map[string]device.Value{"power": device.Bool(false)}); err != nil {
			t.Fatal(err)
		}
		f.set(func(f *fakeShelly) {
			if f.switches[0] {
				t.Error("relay still on")
			}
		})
	})
	t.Run("a wrong password says auth failed", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, "wrong")
		r.start(placed{locked(), 42})
		if !testutil.Poll(10*time.Second, func() bool {
			in := r.b.Instances()
			return len(in) == 1 && in[0].Status == "auth failed"
		}) {
			t.Fatalf("instances = %+v, want status auth failed", r.b.Instances())
		}
	})
}
