package wled

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/httpdev"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

// Source is the hub source name of WLED devices.
const Source = "wled"

// maxBody bounds what a device may make the agent read; /json/state of a
// WLED with many segments is a few KiB.
const maxBody = 256 << 10

// Options configure the driver.
type Options struct {
	Hub          *hub.Hub
	PollInterval time.Duration // default 5 s
	// Timeout bounds each HTTP request (default 3 s), so an unreachable or
	// hanging controller turns offline quickly instead of stalling.
	Timeout time.Duration
	Logger  *slog.Logger
	// Status, when set, is told what the driver found out about an mDNS
	// instance ("ok", "error: ...") for the discovered list.
	Status func(inst mdns.Instance, status string)
}

// Binding is the driver's addressing data kept with the device. The device
// is identified by MAC; the address is only where it was last found.
type Binding struct {
	Addr string `json:"addr"`
	MAC  string `json:"mac"`
}

// Driver turns WLED instances into light devices and sends them commands.
type Driver struct {
	opts   Options
	log    *slog.Logger
	client *http.Client
	devs   *httpdev.Tracker[struct{}] // by hub device id; WLED needs no data beyond the address
}

// New builds the driver; the agent registers it with its localbus.Drivers,
// which hands it the hub's commands and the _wled._tcp instances found.
func New(opts Options) *Driver {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	d := &Driver{opts: opts, log: opts.Logger, client: &http.Client{Timeout: opts.Timeout}}
	d.devs = httpdev.New(httpdev.Options[struct{}]{Vendor: "wled", LogKey: "device",
		PollInterval: opts.PollInterval, Logger: opts.Logger, Status: opts.Status,
		Identify: d.identify, Refresh: func(ctx context.Context, u *httpdev.Unit[struct{}]) error {
			return d.refresh(ctx, u.ID, u.Addr())
		},
		Offline: func(u *httpdev.Unit[struct{}]) { d.opts.Hub.SetOnline(u.ID, false) }})
	return d
}

// Run starts polling the WLED devices already in the hub (at their last
// known address) and those found since, until ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	return d.devs.Run(ctx, func() {
		for _, dev := range d.opts.Hub.Devices() {
			var b Binding
			if dev.Source != Source || json.Unmarshal(dev.Binding, &b) != nil || b.Addr == "" {
				continue
			}
			d.devs.Track(dev.ID, b.Addr, nil)
		}
	})
}

// Source is the hub source of the driver's devices.
func (d *Driver) Source() string { return Source }

// Services are the mDNS service types the driver follows.
func (d *Driver) Services() []string { return []string{"_wled._tcp"} }

// Found is the mDNS watcher for _wled._tcp: a new or moved instance is
// identified by its MAC and followed; a gone one is polled at once (every
// controller when its address is unknown) so that a device that really
// left turns offline without waiting.
func (d *Driver) Found(inst mdns.Instance) { d.devs.Found(inst) }

// identify reads the controller's identity and state and registers it.
func (d *Driver) identify(ctx context.Context, inst mdns.Instance, addr string) error {
	body, err := d.get(ctx, addr, "/json/info")
	if err != nil {
		return err
	}
	info, err := ParseInfo(body)
	if err != nil {
		return err
	}
	body, err = d.get(ctx, addr, "/json/state")
	if err != nil {
		return err
	}
	st, err := ParseState(body)
	if err != nil {
		return err
	}
	id := "wled-" + info.MAC
	binding, _ := json.Marshal(Binding{Addr: addr, MAC: info.MAC})
	name := info.Name
	if name == "" {
		name = inst.Name
	}
	dev := &device.Device{
		ID: id, Name: mdns.Sanitize(name, 64), Category: device.CategoryLight, Manufacturer: "WLED",
		Model: mdns.Sanitize(info.Product, 64), Online: true, Source: Source, Binding: binding,
		Properties: []device.Property{
			{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite},
			{Name: "brightness", Type: device.TypeInt, Unit: "%", Min: device.Num(0), Max: device.Num(100),
				Step: device.Num(1), Access: device.AccessReadWrite},
			{Name: "color", Type: device.TypeString, Access: device.AccessReadWrite},
		},
		State: stateValues(st), UpdatedAt: time.Now(),
	}
	if err := d.opts.Hub.UpsertDevice(ctx, dev); err != nil {
		return fmt.Errorf("wled: register %s: %w", id, err)
	}
	d.opts.Hub.SetOnline(id, true)
	d.devs.Track(id, addr, nil)
	return nil
}

// refresh reads the state once and reports the device online with it.
func (d *Driver) refresh(ctx context.Context, id, addr string) error {
	body, err := d.get(ctx, addr, "/json/state")
	var st State
	if err == nil {
		st, err = ParseState(body)
	}
	if err != nil {
		return err
	}
	d.opts.Hub.ReportState(id, stateValues(st), time.Now())
	d.opts.Hub.SetOnline(id, true)
	return nil
}

func stateValues(st State) map[string]device.Value {
	v := map[string]device.Value{
		"power":      device.Bool(st.On),
		"brightness": device.Int(int64(Percent(st.Brightness))),
	}
	if c, ok := st.Color(); ok {
		v["color"] = device.String(c)
	}
	return v
}

// Send posts the write to /json/state, then reads the state back at once so
// the hub sees the device confirm it.
func (d *Driver) Send(ctx context.Context, dev *device.Device, props map[string]device.Value) (bool, error) {
	var b Binding
	if err := json.Unmarshal(dev.Binding, &b); err != nil || b.Addr == "" {
		return false, &device.Error{Code: device.CodeDeviceOffline, DeviceID: dev.ID, Message: "device " + dev.ID + " has no known address"}
	}
	u, tracked := d.devs.Lookup(dev.ID)
	if tracked {
		b.Addr = u.Addr()
	}
	body := map[string]any{}
	for name, v := range props {
		switch name {
		case "power":
			on, _ := v.AsBool()
			body["on"] = on
		case "brightness":
			pct, _ := v.AsInt()
			body["bri"] = Bri(int(pct))
		case "color":
			s, _ := v.AsString()
			rgb, err := ParseColor(s)
			if err != nil {
				return false, &device.Error{Code: device.CodeValueOutOfRange, DeviceID: dev.ID, Property: name, Message: err.Error()}
			}
			body["seg"] = []map[string]any{{"id": 0, "col": [][]int{rgb[:]}}}
		}
	}
	payload, _ := json.Marshal(body)
	if err := d.post(ctx, b.Addr, "/json/state", payload); err != nil {
		if tracked {
			u.Poke() // the poller finds out whether it is gone
		}
		return false, &device.Error{Code: device.CodeDeviceOffline, DeviceID: dev.ID,
			Message: fmt.Sprintf("device %s did not take the command: %v", dev.ID, err)}
	}
	if err := d.refresh(ctx, dev.ID, b.Addr); err != nil {
		d.log.Debug("wled: state after command not read", "device", dev.ID, "err", err)
	}
	return false, nil
}

func (d *Driver) get(ctx context.Context, addr, path string) ([]byte, error) {
	return d.do(ctx, http.MethodGet, addr, path, nil)
}

func (d *Driver) post(ctx context.Context, addr, path string, body []byte) error {
	resp, err := d.do(ctx, http.MethodPost, addr, path, body)
	if err != nil {
		return err
	}
	var ok struct {
		Success *bool `json:"success"`
	}
	if json.Unmarshal(resp, &ok) == nil && ok.Success != nil && !*ok.Success {
		return fmt.Errorf("wled: %s refused the state", addr)
	}
	return nil
}

func (d *Driver) do(ctx context.Context, method, addr, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("wled: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wled: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("wled: %s %s: %w", method, path, err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("wled: %s %s: answer larger than %d bytes", method, path, maxBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("wled: %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return data, nil
}
