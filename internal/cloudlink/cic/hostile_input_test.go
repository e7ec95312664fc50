package cic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// Hostile input against /cic/v1: each limit of docs/limits.md ("Partner
// side") driven past its bound, with what the hub stored checked after.
// The real binary is driven the same way in cmd/hubagent's
// hostile_partner_test.go.

// bearerAuth authenticates "Bearer <grant>" as partner A on that grant and
// exposes every device but "hidden"; it counts grant revocations.
type bearerAuth struct{ revoked atomic.Int64 }

func (a *bearerAuth) Authenticate(_ context.Context, r *http.Request) (Caller, error) {
	grant, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Caller{}, &device.Error{Code: device.CodeInvalidAccessToken, Message: "no token"}
	}
	return Caller{ClientID: "A", UserID: "u-" + grant, GrantID: grant,
		Scopes: []string{ScopeDevicesRead, ScopeDevicesControl}}, nil
}

func (a *bearerAuth) Exposure(context.Context, Caller) (func(*device.Device) bool, error) {
	return func(d *device.Device) bool { return d.ID != "hidden" }, nil
}

func (a *bearerAuth) RevokeGrant(context.Context, string, string) error { a.revoked.Add(1); return nil }

type cicEnv struct {
	st   *store.Store
	h    *Handler
	auth *bearerAuth
	msg  atomic.Int64
}

func newCICEnv(t testing.TB, mods ...func(*Options)) *cicEnv {
	t.Helper()
	ctx := context.Background()
	st, hb := newTestHub(t)
	for _, id := range []string{"lamp", "hidden"} {
		d := &device.Device{ID: id, Name: id, Category: device.CategoryLight, Online: true, Source: "test",
			Properties: []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}}
		if err := hb.UpsertDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	auth := &bearerAuth{}
	o := Options{Hub: hb, Auth: auth, DB: st.DB(), RateLimit: 1e6, RateBurst: 1e6}
	for _, m := range mods {
		m(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &cicEnv{st: st, h: h, auth: auth}
}

// send posts one message on grant g and returns the HTTP status and the
// answer's errorCode ("" for success).
func (e *cicEnv) send(t *testing.T, g, ns, name, msgID string, payload any) (int, string) {
	t.Helper()
	if msgID == "" {
		msgID = fmt.Sprintf("m-%d", e.msg.Add(1))
	}
	b, _ := json.Marshal(map[string]any{"header": map[string]any{"namespace": ns, "name": name, "messageId": msgID,
		"payloadVersion": "1"}, "payload": payload})
	r := httptest.NewRequest("POST", "/cic/v1", bytes.NewReader(b))
	r.Header.Set("Authorization", "Bearer "+g)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	var env struct {
		Payload struct {
			ErrorCode string `json:"errorCode"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatalf("answer is not an envelope: %s", w.Body)
	}
	return w.Code, env.Payload.ErrorCode
}

func (e *cicEnv) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.st.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func commands(n int, id func(i int) string, props map[string]any) map[string]any {
	cmds := make([]map[string]any, n)
	for i := range cmds {
		cmds[i] = map[string]any{"deviceId": id(i), "properties": props}
	}
	return map[string]any{"commands": cmds}
}

func TestHostileFieldsAreRefusedBeforeAnythingIsStored(t *testing.T) {
	e := newCICEnv(t)
	long := func(n int) func(int) string {
		return func(i int) string { return fmt.Sprintf("%0*d", n, i) }
	}
	power := map[string]any{"power": true}
	manyProps := map[string]any{}
	for i := range MaxPropertiesPerCommand + 1 {
		manyProps[fmt.Sprintf("p%d", i)] = true
	}
	for _, tc := range []struct {
		name, ns, op string
		payload      any
		want         device.Code
	}{
		{"5,000-byte device ids", "CIC.Control", "Control", commands(50, long(5000), power), device.CodeInvalidRequest},
		{"device id one byte over", "CIC.Control", "Control", commands(1, long(MaxIDLen+1), power), device.CodeInvalidRequest},
		{"more commands than allowed", "CIC.Control", "Control", commands(MaxCommands+1, long(8), power), device.CodeInvalidRequest},
		{"over-long property name", "CIC.Control", "Control",
			commands(1, func(int) string { return "lamp" }, map[string]any{strings.Repeat("p", MaxNameLen+1): true}), device.CodeInvalidRequest},
		{"too many properties", "CIC.Control", "Control", commands(1, func(int) string { return "lamp" }, manyProps), device.CodeInvalidRequest},
		{"over-long string value", "CIC.Control", "Control",
			commands(1, func(int) string { return "lamp" }, map[string]any{"power": strings.Repeat("x", MaxStringValueLen+1)}), device.CodeValueOutOfRange},
		{"over-long query id", "CIC.Query", "QueryStatus", map[string]any{"deviceIds": []string{strings.Repeat("q", MaxIDLen+1)}}, device.CodeInvalidRequest},
		{"too many query ids", "CIC.Query", "QueryStatus", map[string]any{"deviceIds": make([]string, MaxQueryIDs+1)}, device.CodeInvalidRequest},
		{"over-long namespace", strings.Repeat("N", MaxNameLen+1), "Control", map[string]any{}, device.CodeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code := e.send(t, "g1", tc.ns, tc.op, "", tc.payload)
			if device.Code(code) != tc.want || status != 400 {
				t.Fatalf("HTTP %d %q, want 400 %q", status, code, tc.want)
			}
		})
	}
	if a, m := e.count(t, "audit"), e.count(t, "message_ids"); a != 0 || m != 0 {
		t.Fatalf("refused messages left %d audit rows and %d message_ids rows", a, m)
	}
	// At the limits, the same messages are accepted.
	if status, code := e.send(t, "g1", "CIC.Query", "QueryStatus", "", map[string]any{"deviceIds": []string{strings.Repeat("q", MaxIDLen)}}); status != 200 {
		t.Fatalf("a %d-byte id at the limit: HTTP %d %s", MaxIDLen, status, code)
	}
}

func TestCommandsNamingNoVisibleDeviceLeaveOneCompactRow(t *testing.T) {
	e := newCICEnv(t)
	unknown := func(i int) string { return fmt.Sprintf("%0200d", i) }
	for range 3 {
		if status, _ := e.send(t, "g1", "CIC.Control", "Control", "", commands(50, unknown, map[string]any{"power": true})); status != 200 {
			t.Fatalf("batch of unknown devices: HTTP %d", status)
		}
	}
	// One command for a device the partner is not shown: the same.
	if _, code := e.send(t, "g1", "CIC.Control", "Control", "", commands(1, func(int) string { return "hidden" }, map[string]any{"power": true})); code != "DEVICE_NOT_FOUND" {
		t.Fatalf("hidden device: %q", code)
	}
	rows, err := ReadAudit(context.Background(), e.st.DB(), time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d audit rows for 4 messages naming no visible device, want 4", len(rows))
	}
	for _, r := range rows {
		if r.DeviceID != "" || r.Result != "DEVICE_NOT_FOUND" || len(r.Message) > 100 || strings.Contains(r.Message, "hidden") {
			t.Fatalf("not a compact row: %+v", r)
		}
	}
	if n := e.count(t, "message_ids"); n != 0 {
		t.Fatalf("%d message_ids rows for messages that acted on nothing", n)
	}
}

func TestReusedMessageIDWithAnotherOperationIsRefused(t *testing.T) {
	e := newCICEnv(t)
	if status, _ := e.send(t, "g1", "CIC.Discovery", "Discover", "same-id", map[string]any{}); status != 200 {
		t.Fatalf("Discover: %d", status)
	}
	status, code := e.send(t, "g1", "CIC.Account", "Unlink", "same-id", map[string]any{})
	if status != 400 || code != "INVALID_REQUEST" || e.auth.revoked.Load() != 0 {
		t.Fatalf("Unlink reusing a Discover messageId: HTTP %d %q, grants revoked %d", status, code, e.auth.revoked.Load())
	}
	// The same messageId on another household's grant is its own message.
	if status, _ := e.send(t, "g2", "CIC.Account", "Unlink", "same-id", map[string]any{}); status != 200 || e.auth.revoked.Load() != 1 {
		t.Fatalf("Unlink on another grant: HTTP %d, revoked %d", status, e.auth.revoked.Load())
	}
	// A retry of it answers the first answer without acting again.
	if status, _ := e.send(t, "g2", "CIC.Account", "Unlink", "same-id", map[string]any{}); status != 200 || e.auth.revoked.Load() != 1 {
		t.Fatalf("retried Unlink: HTTP %d, revoked %d", status, e.auth.revoked.Load())
	}
}

// auditSize is the audit table's size as its bound counts it.
func auditSize(t *testing.T, a *auditLog) int64 {
	n, err := a.bound.bytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAuditStaysWithinItsSizeAndAge(t *testing.T) {
	e := newCICEnv(t)
	const maxBytes = 64 << 10
	a := newAuditLog(e.st.DB(), time.Hour, maxBytes)
	ctx := context.Background()
	c := Caller{ClientID: "A", UserID: "u"}
	cmds := make([]Command, 50)
	results := make([]ControlResult, 50)
	visible := make([]bool, 50)
	for i := range cmds {
		cmds[i] = Command{DeviceID: fmt.Sprintf("%0250d", i), Properties: map[string]device.Value{"name": device.String(strings.Repeat("v", MaxStringValueLen))}}
		results[i] = ControlResult{DeviceID: cmds[i].DeviceID, ErrorCode: device.CodeDeviceTimeout, Message: strings.Repeat("m", 1000)}
		visible[i] = true
	}
	now := time.Now()
	peak := int64(0)
	for range 100 { // some 7 MB offered
		a.record(ctx, c, cmds, results, visible, now)
		peak = max(peak, auditSize(t, a))
	}
	// The bound is checked every sixteenth of it: one message's rows (at
	// most ~80 KB) may pass it before the next prune.
	if limit := int64(maxBytes + maxBytes/16 + 80<<10); peak > limit {
		t.Fatalf("audit peaked at %d bytes, bound %d", peak, limit)
	}
	// Pruning keeps the newest rows that fit, not nothing, even when all
	// were written in the same millisecond.
	if n := e.count(t, "audit"); n < 30 {
		t.Fatalf("pruning left %d rows of some 2 KB in a %d-byte bound", n, maxBytes)
	}
	// Rows past the age go at the next prune, whatever the size.
	if _, err := a.bound.prune(ctx, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "audit"); n != 0 {
		t.Fatalf("%d audit rows older than audit_max_age kept", n)
	}
}

func TestMessageIDsStayWithinTheirSize(t *testing.T) {
	e := newCICEnv(t)
	const maxBytes = 64 << 10
	m := newIdempotency(e.st.DB(), time.Hour, maxBytes)
	ctx := context.Background()
	body := bytes.Repeat([]byte("r"), 4000)
	peak := int64(0)
	for i := range 500 { // 2 MB offered
		m.do(ctx, key("A", "g", fmt.Sprintf("m-%d", i)), hashQ, true, func() (int, []byte, bool) { return 200, body, true })
		n, err := m.bound.bytes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, n)
	}
	if limit := int64(maxBytes + maxBytes/16 + 4100); peak > limit {
		t.Fatalf("message_ids peaked at %d bytes, bound %d", peak, limit)
	}
	// The newest records are the ones kept.
	var newest string
	testutil.Scan(t, e.st.DB().QueryRow("SELECT message_id FROM message_ids ORDER BY created_at DESC, message_id DESC LIMIT 1"), &newest)
	if e.count(t, "message_ids") == 0 || newest == "" {
		t.Fatal("pruning removed everything")
	}
}

// newTestHub opens a store in a temp dir and a hub over it, both closed
// when the test ends.
func newTestHub(t testing.TB) (*store.Store, *hub.Hub) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hb.Close(); st.Close() })
	return st, hb
}
