package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// UpsertDevice saves a device's description and property descriptors (not
// its state, which goes through the Writer). Properties are replaced whole.
func (s *Store) UpsertDevice(ctx context.Context, d *device.Device) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: upsert device %s: %w", d.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := upsertDeviceTx(ctx, tx, d); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: upsert device %s: %w", d.ID, err)
	}
	return nil
}

func upsertDeviceTx(ctx context.Context, tx *sql.Tx, d *device.Device) error {
	now := time.Now().UnixMilli()
	updated := d.UpdatedAt.UnixMilli()
	if d.UpdatedAt.IsZero() {
		updated = now
	}
	var binding any
	if len(d.Binding) > 0 {
		binding = []byte(d.Binding)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO devices
		(id, name, category, manufacturer, model, room, online, source, binding, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET name = excluded.name, category = excluded.category,
			manufacturer = excluded.manufacturer, model = excluded.model, room = excluded.room,
			online = excluded.online, source = excluded.source, binding = excluded.binding,
			updated_at = excluded.updated_at`,
		d.ID, d.Name, string(d.Category), d.Manufacturer, d.Model, d.Room, d.Online, d.Source, binding, now, updated)
	if err != nil {
		return fmt.Errorf("store: upsert device %s: %w", d.ID, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM properties WHERE device_id = ?", d.ID); err != nil {
		return fmt.Errorf("store: upsert device %s: clear properties: %w", d.ID, err)
	}
	for i, p := range d.Properties {
		var values any
		if len(p.Values) > 0 {
			b, _ := json.Marshal(p.Values) // []string always marshals
			values = string(b)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO properties
			(device_id, name, position, type, unit, min, max, step, enum_values, access)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, p.Name, i, string(p.Type), p.Unit, nullFloat(p.Min), nullFloat(p.Max), nullFloat(p.Step), values, string(p.Access))
		if err != nil {
			return fmt.Errorf("store: upsert device %s: property %s: %w", d.ID, p.Name, err)
		}
	}
	return nil
}

// DeleteDevice removes a device with its properties and state.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: delete device %s: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	for _, q := range []string{
		"DELETE FROM state WHERE device_id = ?",
		"DELETE FROM properties WHERE device_id = ?",
		"DELETE FROM devices WHERE id = ?",
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("store: delete device %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: delete device %s: %w", id, err)
	}
	return nil
}

// Devices loads every device with its properties and last known state,
// ordered by id.
func (s *Store) Devices(ctx context.Context) ([]*device.Device, error) {
	return s.loadDevices(ctx, "")
}

// Device loads one device; device.ErrDeviceNotFound when there is none.
func (s *Store) Device(ctx context.Context, id string) (*device.Device, error) {
	ds, err := s.loadDevices(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, &device.Error{Code: device.CodeDeviceNotFound, DeviceID: id, Message: "device " + id + " not found"}
	}
	return ds[0], nil
}

func (s *Store) loadDevices(ctx context.Context, only string) ([]*device.Device, error) {
	// Three ordered scans merged in memory: one query per table instead of
	// one per device keeps cold start fast with thousands of devices.
	where, args := "", []any{}
	if only != "" {
		where, args = " WHERE id = ?", []any{only}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, category, manufacturer, model, room, online,
		source, binding, updated_at FROM devices`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load devices: %w", err)
	}
	var out []*device.Device
	byID := map[string]*device.Device{}
	for rows.Next() {
		d := &device.Device{State: map[string]device.Value{}}
		var cat string
		var binding []byte
		var updated int64
		if err := rows.Scan(&d.ID, &d.Name, &cat, &d.Manufacturer, &d.Model, &d.Room, &d.Online,
			&d.Source, &binding, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: load devices: %w", err)
		}
		d.Category = device.Category(cat)
		if len(binding) > 0 {
			d.Binding = json.RawMessage(binding)
		}
		d.UpdatedAt = time.UnixMilli(updated)
		out = append(out, d)
		byID[d.ID] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load devices: %w", err)
	}
	where = ""
	if only != "" {
		where = " WHERE device_id = ?"
	}
	if err := s.loadProperties(ctx, where, args, byID); err != nil {
		return nil, err
	}
	if err := s.loadState(ctx, where, args, byID); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) loadProperties(ctx context.Context, where string, args []any, byID map[string]*device.Device) error {
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, name, type, unit, min, max, step, enum_values, access
		FROM properties`+where+` ORDER BY device_id, position`, args...)
	if err != nil {
		return fmt.Errorf("store: load properties: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, typ, access string
		var p device.Property
		var minV, maxV, step sql.NullFloat64
		var values sql.NullString
		if err := rows.Scan(&id, &p.Name, &typ, &p.Unit, &minV, &maxV, &step, &values, &access); err != nil {
			return fmt.Errorf("store: load properties: %w", err)
		}
		p.Type, p.Access = device.Type(typ), device.Access(access)
		p.Min, p.Max, p.Step = floatPtr(minV), floatPtr(maxV), floatPtr(step)
		if values.Valid {
			if err := json.Unmarshal([]byte(values.String), &p.Values); err != nil {
				return fmt.Errorf("store: device %s property %s: enum values: %w", id, p.Name, err)
			}
		}
		if d := byID[id]; d != nil {
			d.Properties = append(d.Properties, p)
		}
	}
	return rows.Err()
}

func (s *Store) loadState(ctx context.Context, where string, args []any, byID map[string]*device.Device) error {
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, name, value, updated_at FROM state`+where, args...)
	if err != nil {
		return fmt.Errorf("store: load state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		var raw []byte
		var at int64
		if err := rows.Scan(&id, &name, &raw, &at); err != nil {
			return fmt.Errorf("store: load state: %w", err)
		}
		d := byID[id]
		if d == nil {
			continue // state of a device removed meanwhile
		}
		var v device.Value
		if err := v.UnmarshalJSON(raw); err != nil {
			return fmt.Errorf("store: device %s state %s: %w", id, name, err)
		}
		d.State[name] = v
		if t := time.UnixMilli(at); t.After(d.UpdatedAt) {
			d.UpdatedAt = t
		}
	}
	return rows.Err()
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func floatPtr(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	return &n.Float64
}
