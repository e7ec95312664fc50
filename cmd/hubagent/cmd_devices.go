package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/store"
)

// readDevices asks the running agent, or reads the database when none runs.
func readDevices(ctx context.Context, dataDir string) ([]device.Device, error) {
	if err := requireDataDir(dataDir); err != nil {
		return nil, err
	}
	cl, err := localapi.Dial(ctx, dataDir)
	if err == nil {
		return cl.Devices(ctx)
	}
	if !errors.Is(err, localapi.ErrNotRunning) {
		return nil, err
	}
	st, err := store.Open(ctx, filepath.Join(dataDir, store.FileName), store.Options{ReadOnly: true})
	if errors.Is(err, store.ErrNotExist) {
		return []device.Device{}, nil // a fresh data directory has no devices
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ptrs, err := st.Devices(ctx)
	if err != nil {
		return nil, err
	}
	ds := make([]device.Device, len(ptrs))
	for i, d := range ptrs {
		ds[i] = *d
	}
	return ds, nil
}

func cmdDevices(ctx context.Context, env *Env, args []string) error {
	var c common
	const synopsis = "[--json]"
	fs := newFlags(env, "devices", synopsis, &c, true)
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, &c, configOverrides())
	if err != nil {
		return err
	}
	ds, err := readDevices(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSONOut(env.Stdout, ds)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCATEGORY\tONLINE\tSTATE")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", d.ID, d.Name, d.Category, d.Online, formatState(d.State))
	}
	return tw.Flush()
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func formatState(st map[string]device.Value) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(st)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", k, st[k])
	}
	return b.String()
}

func cmdDevice(ctx context.Context, env *Env, args []string) error {
	var c common
	const synopsis = "get ID [--json] | set ID PROP=VALUE..."
	fs := newFlags(env, "device", synopsis, &c, true)
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("want 'get ID' or 'set ID PROP=VALUE...'")
	}
	cfg, err := loadConfig(env, &c, configOverrides())
	if err != nil {
		return err
	}
	verb, id := pos[0], pos[1]
	switch verb {
	case "get":
		if len(pos) > 2 {
			return usagef("unexpected argument %q", pos[2])
		}
		ds, err := readDevices(ctx, cfg.DataDir)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.ID == id {
				if c.json {
					return writeJSONOut(env.Stdout, d)
				}
				return printDevice(env.Stdout, d)
			}
		}
		return &device.Error{Code: device.CodeDeviceNotFound, DeviceID: id, Message: "DEVICE_NOT_FOUND: device " + id + " not found"}
	case "set":
		if len(pos) < 3 {
			return usagef("set needs at least one PROP=VALUE")
		}
		return deviceSet(ctx, env, cfg.DataDir, id, pos[2:], c.json)
	}
	return usagef("unknown verb %q (want get or set)", verb)
}

func printDevice(w io.Writer, d device.Device) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\nname\t%s\ncategory\t%s\nmanufacturer\t%s\nmodel\t%s\nroom\t%s\nonline\t%t\n",
		d.ID, d.Name, d.Category, d.Manufacturer, d.Model, d.Room, d.Online)
	fmt.Fprintln(tw, "\nPROPERTY\tTYPE\tACCESS\tVALUE")
	for _, p := range d.Properties {
		v := "-"
		if s, ok := d.State[p.Name]; ok {
			v = s.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Type, p.Access, v)
	}
	return tw.Flush()
}

func deviceSet(ctx context.Context, env *Env, dataDir, id string, assigns []string, asJSON bool) error {
	cl, err := localapi.Dial(ctx, dataDir)
	if errors.Is(err, localapi.ErrNotRunning) {
		return fmt.Errorf("no agent is running with data directory %s: start 'hubagent run' to control devices", dataDir)
	}
	if err != nil {
		return err
	}
	d, err := cl.Device(ctx, id)
	if err != nil {
		return codedError(err)
	}
	props := map[string]device.Value{}
	for _, a := range assigns {
		name, raw, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return usagef("%q is not PROP=VALUE", a)
		}
		t := device.TypeString
		if p, ok := d.Property(name); ok {
			t = p.Type
		}
		v, err := device.ParseValue(t, raw)
		if err != nil {
			return usagef("%s: %v", name, err)
		}
		props[name] = v
	}
	res, err := cl.Control(ctx, id, props)
	if err != nil {
		return codedError(err)
	}
	if asJSON {
		return writeJSONOut(env.Stdout, res)
	}
	fmt.Fprintln(env.Stdout, formatState(res.State))
	return nil
}

// codedError puts the wire error code first, so scripts can match on it.
func codedError(err error) error {
	var de *device.Error
	if errors.As(err, &de) {
		return fmt.Errorf("%s: %s", de.Code, de.Message)
	}
	return err
}
