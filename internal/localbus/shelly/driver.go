package shelly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/httpdev"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
)

// Source is the hub source name of Shelly devices.
const Source = "shelly"

// Options configure the driver.
type Options struct {
	Hub          *hub.Hub
	PollInterval time.Duration // default 5 s
	Timeout      time.Duration // per request, default 3 s
	Password     string        // drivers.shelly_password, for user admin
	Logger       *slog.Logger
	// Status, when set, is told what the driver found out about an mDNS
	// instance ("ok", "auth required", "error: ...").
	Status func(inst mdns.Instance, status string)
}

// Binding is the driver's addressing data kept with each channel's device.
// The Shelly device id is the identity; the address is where it was last.
type Binding struct {
	Addr    string `json:"addr"`
	ID      string `json:"id"`
	Kind    Kind   `json:"kind"`
	Channel int    `json:"channel"`
}

// Driver turns Shelly instances into switch, curtain and light devices.
type Driver struct {
	opts  Options
	log   *slog.Logger
	units *httpdev.Tracker[unit] // by Shelly device id
}

// unit is what the driver keeps about one physical Shelly. Once tracked it
// is replaced, never changed in place, so the poller and Send may keep
// using the copy they got.
type unit struct {
	client   *client           // keeps the device's digest state
	channels map[string]string // "switch:0" → hub device id
}

// with returns u also following channels, and reached through c when c is
// set (or a new client when u has none yet).
func (u unit) with(c *client, channels map[string]string, newClient func() *client) unit {
	switch {
	case c != nil:
		u.client = c
	case u.client == nil:
		u.client = newClient()
	}
	all := make(map[string]string, len(u.channels)+len(channels))
	maps.Copy(all, u.channels)
	maps.Copy(all, channels)
	u.channels = all
	return u
}

// New builds the driver.
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
	d := &Driver{opts: opts, log: opts.Logger}
	d.units = httpdev.New(httpdev.Options[unit]{Vendor: "shelly", LogKey: "shelly",
		PollInterval: opts.PollInterval, Logger: opts.Logger, Status: opts.Status,
		Identify: d.identify, Refresh: d.refresh, Offline: d.offline, Classify: classify})
	return d
}

// classify names the identify errors that a password setting fixes.
func classify(err error) (status, warning string, ok bool) {
	switch {
	case errors.Is(err, ErrAuthRequired):
		return "auth required", "shelly: device needs a password; set drivers.shelly_password", true
	case errors.Is(err, ErrAuthFailed):
		return "auth failed", "shelly: device refused drivers.shelly_password", true
	}
	return "", "", false
}

func (d *Driver) newClient() *client {
	return &client{http: &http.Client{Timeout: d.opts.Timeout}, password: d.opts.Password}
}

// Run polls the Shelly devices already in the hub and those found since,
// until ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	return d.units.Run(ctx, func() {
		for _, dev := range d.opts.Hub.Devices() {
			var b Binding
			if dev.Source != Source || json.Unmarshal(dev.Binding, &b) != nil || b.Addr == "" || b.ID == "" {
				continue
			}
			d.track(b.ID, b.Addr, nil, map[string]string{string(b.Kind) + ":" + strconv.Itoa(b.Channel): dev.ID})
		}
	})
}

// Source is the hub source of the driver's devices.
func (d *Driver) Source() string { return Source }

// Services are the mDNS service types the driver follows.
func (d *Driver) Services() []string { return []string{"_shelly._tcp"} }

// Found is the mDNS watcher for _shelly._tcp.
func (d *Driver) Found(inst mdns.Instance) {
	if !inst.Gone && inst.Address() != "" && inst.TXT["gen"] == "1" {
		return // Gen1 speaks another API
	}
	d.units.Found(inst)
}

// identify reads the device's identity and channels and registers one hub
// device per channel.
func (d *Driver) identify(ctx context.Context, inst mdns.Instance, addr string) error {
	c := d.newClient()
	if u, ok := d.units.Lookup(strings.ToLower(inst.TXT["id"])); ok {
		_, known := u.Get()
		c = known.client // keep a known device's digest state
	}
	body, err := c.call(ctx, addr, "Shelly.GetDeviceInfo", nil)
	if err != nil {
		return err
	}
	info, err := ParseDeviceInfo(body)
	if err != nil {
		return err
	}
	body, err = c.call(ctx, addr, "Shelly.GetStatus", nil)
	if err != nil {
		return err
	}
	comps, err := ParseStatus(body)
	if err != nil {
		return err
	}
	if len(comps) == 0 {
		return fmt.Errorf("shelly: %s has no switch, cover or light channel", info.ID)
	}
	channels := map[string]string{}
	for _, comp := range comps {
		dev := describe(info, inst, addr, comp, comps)
		if err := d.opts.Hub.UpsertDevice(ctx, dev); err != nil {
			return fmt.Errorf("shelly: register %s: %w", dev.ID, err)
		}
		d.opts.Hub.SetOnline(dev.ID, true)
		channels[string(comp.Kind)+":"+strconv.Itoa(comp.ID)] = dev.ID
	}
	d.track(info.ID, addr, c, channels)
	return nil
}

// deviceID names a channel's device: shelly-<id> for a single-channel
// device, shelly-<id>-<n> when all channels are one kind, and
// shelly-<id>-<kind><n> when kinds are mixed.
func deviceID(shellyID string, comp Component, all []Component) string {
	if len(all) == 1 {
		return "shelly-" + shellyID
	}
	for _, o := range all {
		if o.Kind != comp.Kind {
			return fmt.Sprintf("shelly-%s-%s%d", shellyID, comp.Kind, comp.ID)
		}
	}
	return fmt.Sprintf("shelly-%s-%d", shellyID, comp.ID)
}

func describe(info DeviceInfo, inst mdns.Instance, addr string, comp Component, all []Component) *device.Device {
	name := inst.Name
	if info.Name != nil && *info.Name != "" {
		name = *info.Name
	}
	if len(all) > 1 {
		name = fmt.Sprintf("%s %s %d", name, comp.Kind, comp.ID)
	}
	binding, _ := json.Marshal(Binding{Addr: addr, ID: info.ID, Kind: comp.Kind, Channel: comp.ID})
	dev := &device.Device{
		ID: deviceID(info.ID, comp, all), Name: mdns.Sanitize(name, 64), Manufacturer: "Shelly",
		Model: mdns.Sanitize(info.Model, 64), Online: true, Source: Source, Binding: binding,
		State: componentState(comp), UpdatedAt: time.Now(),
	}
	pct := func(name string) device.Property {
		return device.Property{Name: name, Type: device.TypeInt, Unit: "%", Min: device.Num(0),
			Max: device.Num(100), Step: device.Num(1), Access: device.AccessReadWrite}
	}
	switch comp.Kind {
	case KindSwitch:
		dev.Category = device.CategorySwitch
		dev.Properties = []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}
	case KindLight:
		dev.Category = device.CategoryLight
		dev.Properties = []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}
		if comp.Brightness != nil {
			dev.Properties = append(dev.Properties, pct("brightness"))
		}
	case KindCover:
		dev.Category = device.CategoryCurtain
		if comp.PosControl == nil || *comp.PosControl {
			dev.Properties = append(dev.Properties, pct("position"))
		}
		dev.Properties = append(dev.Properties, device.Property{Name: "motion", Type: device.TypeEnum,
			Values: []string{"open", "close", "stop"}, Access: device.AccessWrite})
	}
	if comp.APower != nil {
		dev.Properties = append(dev.Properties, device.Property{Name: "power_W", Type: device.TypeFloat, Unit: "W", Access: device.AccessRead})
	}
	if comp.AEnergy != nil && comp.AEnergy.Total != nil {
		dev.Properties = append(dev.Properties, device.Property{Name: "energy_kWh", Type: device.TypeFloat, Unit: "kWh", Access: device.AccessRead})
	}
	return dev
}

// componentState maps a channel's status to device properties.
func componentState(c Component) map[string]device.Value {
	v := map[string]device.Value{}
	if c.Output != nil {
		v["power"] = device.Bool(*c.Output)
	}
	if c.Brightness != nil {
		v["brightness"] = device.Int(int64(math.Round(*c.Brightness)))
	}
	if c.CurrentPos != nil {
		v["position"] = device.Int(int64(math.Round(*c.CurrentPos)))
	}
	if c.APower != nil {
		v["power_W"] = device.Float(*c.APower)
	}
	if c.AEnergy != nil && c.AEnergy.Total != nil {
		v["energy_kWh"] = device.Float(*c.AEnergy.Total / 1000)
	}
	return v
}

// track starts the poller of a Shelly, or points it at a new address, and
// adds channels to those it reports; c, when set, replaces its client.
func (d *Driver) track(id, addr string, c *client, channels map[string]string) {
	d.units.Track(id, addr, func(u unit) unit { return u.with(c, channels, d.newClient) })
}

// refresh reads Shelly.GetStatus once and reports every channel online
// with its state.
func (d *Driver) refresh(ctx context.Context, u *httpdev.Unit[unit]) error {
	addr, un := u.Get()
	c, channels := un.client, un.channels
	body, err := c.call(ctx, addr, "Shelly.GetStatus", nil)
	var comps []Component
	if err == nil {
		comps, err = ParseStatus(body)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	for _, comp := range comps {
		if id, ok := channels[string(comp.Kind)+":"+strconv.Itoa(comp.ID)]; ok {
			d.opts.Hub.ReportState(id, componentState(comp), now)
			d.opts.Hub.SetOnline(id, true)
		}
	}
	return nil
}

// offline marks every channel of a Shelly the poller found unreachable.
func (d *Driver) offline(u *httpdev.Unit[unit]) {
	_, un := u.Get()
	for _, id := range un.channels {
		d.opts.Hub.SetOnline(id, false)
	}
}

// Send calls the channel's RPC method, then reads the status back at once
// so the hub sees the device confirm.
func (d *Driver) Send(ctx context.Context, dev *device.Device, props map[string]device.Value) (bool, error) {
	var b Binding
	if err := json.Unmarshal(dev.Binding, &b); err != nil || b.ID == "" {
		return false, &device.Error{Code: device.CodeDeviceOffline, DeviceID: dev.ID, Message: "device " + dev.ID + " has no known address"}
	}
	u, ok := d.units.Lookup(b.ID)
	if !ok {
		return false, &device.Error{Code: device.CodeDeviceOffline, DeviceID: dev.ID, Message: "device " + dev.ID + " is not reachable yet"}
	}
	calls, err := rpcCalls(b, props)
	if err != nil {
		return false, &device.Error{Code: device.CodeValueOutOfRange, DeviceID: dev.ID, Message: err.Error()}
	}
	addr, un := u.Get()
	c := un.client
	for _, call := range calls {
		if _, err := c.call(ctx, addr, call.method, call.params); err != nil {
			if !errors.Is(err, ErrAuthRequired) && !errors.Is(err, ErrAuthFailed) {
				u.Poke() // the poller finds out whether it is gone
			}
			return false, &device.Error{Code: device.CodeDeviceOffline, DeviceID: dev.ID,
				Message: fmt.Sprintf("device %s did not take the command: %v", dev.ID, err)}
		}
	}
	d.refreshQuietly(ctx, u)
	return false, nil
}

func (d *Driver) refreshQuietly(ctx context.Context, u *httpdev.Unit[unit]) {
	if err := d.refresh(ctx, u); err != nil {
		d.log.Debug("shelly: status after command not read", "shelly", u.ID, "err", err)
	}
}

type rpcCall struct {
	method string
	params map[string]any
}

// rpcCalls maps a write to the channel's RPC methods.
func rpcCalls(b Binding, props map[string]device.Value) ([]rpcCall, error) {
	id := map[string]any{"id": b.Channel}
	with := func(k string, v any) map[string]any {
		p := map[string]any{"id": b.Channel}
		p[k] = v
		return p
	}
	switch b.Kind {
	case KindSwitch:
		on, _ := props["power"].AsBool()
		return []rpcCall{{"Switch.Set", with("on", on)}}, nil
	case KindLight:
		p := map[string]any{"id": b.Channel}
		if v, ok := props["power"]; ok {
			p["on"], _ = v.AsBool()
		}
		if v, ok := props["brightness"]; ok {
			p["brightness"], _ = v.AsInt()
		}
		return []rpcCall{{"Light.Set", p}}, nil
	case KindCover:
		var calls []rpcCall
		if v, ok := props["position"]; ok {
			pos, _ := v.AsInt()
			calls = append(calls, rpcCall{"Cover.GoToPosition", with("pos", pos)})
		}
		if v, ok := props["motion"]; ok {
			m, _ := v.AsString()
			method := map[string]string{"open": "Cover.Open", "close": "Cover.Close", "stop": "Cover.Stop"}[m]
			if method == "" {
				return nil, fmt.Errorf("motion must be open, close or stop")
			}
			calls = append(calls, rpcCall{method, id})
		}
		return calls, nil
	}
	return nil, fmt.Errorf("unknown channel kind %q", b.Kind)
}

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("shelly: %w", err)
	}
	return b, nil
}
