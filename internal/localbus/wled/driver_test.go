package wled_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/localbus/wled"
	"github.com/hubagent/hubagent/internal/testutil"
)

// rig is a hub with the WLED driver fed by a browser on a test network
// where a private Avahi announces the fake controllers.
type rig struct {
	n   *mdnstest.Net
	av  *mdnstest.Avahi
	b   *mdns.Browser
	drv *wled.Driver
	h   *hub.Hub
}

func newRig(t *testing.T) (*rig, *mdnstest.Net) {
	n := mdnstest.New(t)
	av := n.StartAvahi("")
	h := mdnstest.Hub(t)
	r := &rig{n: n, av: av, h: h}
	r.b = n.Browser([]string{"_wled._tcp"}, func(b *mdns.Browser) {
		r.drv = wled.New(wled.Options{Hub: h, PollInterval: 200 * time.Millisecond, Timeout: 500 * time.Millisecond,
			Status: b.SetStatus})
		h.RegisterDriver(wled.Source, r.drv)
		b.Watch("_wled._tcp", r.drv.Found)
	})
	mdnstest.Go(t, r.drv.Run)
	return r, n
}

// controller is one WLED announcement: instance name, host name, address
// and MAC.
type controller struct{ name, host, ip, mac string }

// announce publishes controllers the way WLED does: _wled._tcp on port 80
// with its MAC in TXT, at host <host>.local with the given address. All are
// announced at once (Avahi's probes overlap); stop withdraws them all.
func (r *rig) announce(cs ...controller) (stop func()) {
	var pubs [][]string
	for _, c := range cs {
		pubs = append(pubs, []string{"-a", "-R", c.host + ".local", c.ip},
			[]string{"-s", "-H", c.host + ".local", c.name, "_wled._tcp", "80", "mac=" + c.mac})
	}
	published := r.av.PublishAll(pubs...)
	return func() {
		for i := len(published) - 1; i >= 0; i-- {
			published[i].Stop()
		}
	}
}

func TestWLEDIsFollowedByMACAcrossAddressChange(t *testing.T) {
	t.Parallel() // a network namespace of its own
	r, n := newRig(t)
	ip1 := n.AddPeerIP(10)
	fake := newFakeWLED("A8:03:2A:B1:C2:D3", "Kitchen strip")
	stopHTTP := fake.serve(n.Listen(ip1 + ":80"))
	stopMDNS := r.announce(controller{"Kitchen strip", "wled-kitchen", ip1, "a8032ab1c2d3"})

	const id = "wled-a8032ab1c2d3"
	realHub := r.h
	dev := mdnstest.WaitDevice(t, realHub, id, 10*time.Second, "discovery", func(d *device.Device) bool { return d.Online })
	if dev.Category != device.CategoryLight || dev.Name != "Kitchen strip" {
		t.Fatalf("device = %+v", dev)
	}
	if got := dev.State; !got["power"].Equal(device.Bool(true)) || !got["brightness"].Equal(device.Int(50)) ||
		!got["color"].Equal(device.String("#ffa000")) {
		t.Errorf("state = %v, want power true, brightness 50 (bri 128), color #ffa000", got)
	}

	ctx := context.Background()
	state, err := r.h.Control(ctx, id, map[string]device.Value{
		"brightness": device.Int(20), "color": device.String("#0080ff")})
	if err != nil {
		t.Fatalf("control: %v", err)
	}
	if !state["brightness"].Equal(device.Int(20)) || !state["color"].Equal(device.String("#0080ff")) {
		t.Errorf("confirmed state = %v", state)
	}
	fake.set(func(f *fakeWLED) {
		if f.bri != 51 || f.col != [3]int{0, 128, 255} {
			t.Errorf("controller got bri %d col %v, want 51 [0 128 255]", f.bri, f.col)
		}
	})

	// It leaves: no HTTP, goodbye on mDNS. The device goes offline and a
	// command fails fast with DEVICE_OFFLINE.
	stopHTTP()
	stopMDNS()
	mdnstest.WaitDevice(t, realHub, id, 5*time.Second, "offline", func(d *device.Device) bool { return !d.Online })
	start := time.Now()
	_, err = r.h.Control(ctx, id, map[string]device.Value{"power": device.Bool(false)})
	var de *device.Error
	if !errors.As(err, &de) || de.Code != device.CodeDeviceOffline {
		t.Errorf("control of a gone device: %v, want DEVICE_OFFLINE", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("offline answer took %v", time.Since(start))
	}

	// It comes back on another address (DHCP gave it a new lease) and is
	// the same device, found by its MAC.
	ip2 := n.AddPeerIP(11)
	fake.serve(n.Listen(ip2 + ":80"))
	r.announce(controller{"Kitchen strip", "wled-kitchen", ip2, "a8032ab1c2d3"})
	dev = mdnstest.WaitDevice(t, realHub, id, 10*time.Second, "return", func(d *device.Device) bool { return d.Online })
	var b wled.Binding
	_ = json.Unmarshal(dev.Binding, &b)
	if b.Addr != ip2+":80" || b.MAC != "a8032ab1c2d3" {
		t.Errorf("binding = %+v, want addr %s:80", b, ip2)
	}
	if n := len(realHub.Devices()); n != 1 {
		t.Errorf("%d devices, want the one device followed", n)
	}
	if _, err := r.h.Control(ctx, id, map[string]device.Value{"power": device.Bool(false)}); err != nil {
		t.Fatalf("control at the new address: %v", err)
	}
	fake.set(func(f *fakeWLED) {
		if f.on {
			t.Error("controller still on")
		}
	})
}

func TestWLEDGarbageAndHangingDevicesAreErrorsNotStalls(t *testing.T) {
	t.Parallel() // a network namespace of its own
	r, n := newRig(t)
	realHub := r.h

	good := newFakeWLED("001122334455", "Good")
	ipGood := n.AddPeerIP(20)
	good.serve(n.Listen(ipGood + ":80"))

	garbage := newFakeWLED("0011223344aa", "Garbage")
	garbage.garbage = true
	ipGarbage := n.AddPeerIP(21)
	garbage.serve(n.Listen(ipGarbage + ":80"))

	hanging := newFakeWLED("0011223344bb", "Hanging")
	hanging.hang = time.Minute
	ipHang := n.AddPeerIP(22)
	hanging.serve(n.Listen(ipHang + ":80"))

	r.announce(controller{"Garbage", "wled-garbage", ipGarbage, "0011223344aa"},
		controller{"Hanging", "wled-hanging", ipHang, "0011223344bb"},
		controller{"Good", "wled-good", ipGood, "001122334455"})

	mdnstest.WaitDevice(t, realHub, "wled-001122334455", 10*time.Second, "the good device", func(d *device.Device) bool { return d.Online })
	var statuses map[string]string
	if !testutil.Poll(5*time.Second, func() bool {
		statuses = map[string]string{}
		for _, in := range r.b.Instances() {
			statuses[in.Name] = in.Status
		}
		return strings.HasPrefix(statuses["Garbage"], "error:") && strings.HasPrefix(statuses["Hanging"], "error:")
	}) {
		t.Fatalf("statuses = %v, want errors recorded for the garbage and hanging devices", statuses)
	}
	if _, ok := realHub.Device("wled-0011223344aa"); ok {
		t.Error("a device answering garbage was registered")
	}

	// A registered device that starts answering garbage goes offline; the
	// others carry on.
	good.set(func(f *fakeWLED) { f.garbage = true })
	mdnstest.WaitDevice(t, realHub, "wled-001122334455", 3*time.Second, "offline on garbage", func(d *device.Device) bool { return !d.Online })
	good.set(func(f *fakeWLED) { f.garbage = false })
	mdnstest.WaitDevice(t, realHub, "wled-001122334455", 3*time.Second, "back online", func(d *device.Device) bool { return d.Online })
	if _, err := r.h.Control(context.Background(), "wled-001122334455", map[string]device.Value{"power": device.Bool(false)}); err != nil {
		t.Errorf("control after the hostile devices: %v", err)
	}
}
