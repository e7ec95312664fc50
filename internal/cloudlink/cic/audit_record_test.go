package cic

import (
	"context"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// optimisticDriver takes every write as done (a device without state topic).
type optimisticDriver struct{}

func (optimisticDriver) Send(context.Context, *device.Device, map[string]device.Value) (bool, error) {
	return true, nil
}

// A Control that acted is remembered for idempotency and audited in one
// transaction; when remembering fails, the audit row is still written and
// the partner still gets its answer.
func TestControlIsAuditedWithOrWithoutItsIdempotencyRecord(t *testing.T) {
	e := newCICEnv(t)
	e.h.hub.RegisterDriver("test", optimisticDriver{})
	lamp := commands(1, func(int) string { return "lamp" }, map[string]any{"power": true})
	if status, code := e.send(t, "g1", "CIC.Control", "Control", "first", lamp); status != 200 || code != "" {
		t.Fatalf("Control: HTTP %d %q", status, code)
	}
	if a, m := e.count(t, "audit"), e.count(t, "message_ids"); a != 1 || m != 1 {
		t.Fatalf("after one Control: %d audit rows, %d message_ids rows; want 1 and 1", a, m)
	}
	// The record cannot be written: the audit trail must not depend on it.
	if _, err := e.st.DB().Exec(`ALTER TABLE message_ids RENAME TO message_ids_gone`); err != nil {
		t.Fatal(err)
	}
	if status, code := e.send(t, "g1", "CIC.Control", "Control", "second", lamp); status != 200 || code != "" {
		t.Fatalf("Control without idempotency table: HTTP %d %q", status, code)
	}
	rows, err := ReadAudit(context.Background(), e.st.DB(), time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].DeviceID != "lamp" || rows[1].Result != "OK" {
		t.Fatalf("audit after a failed record: %+v", rows)
	}
}
