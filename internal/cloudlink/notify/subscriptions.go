package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
)

// Event names a subscription may ask for.
const (
	EventStatusChanged   = "StatusChanged"
	EventOnlineChanged   = "OnlineChanged"
	EventDevicesChanged  = "DevicesChanged"
	EventAccountUnlinked = "AccountUnlinked"
)

// SubscribeRequest is the payload of Subscribe.
type SubscribeRequest struct {
	CallbackURL string   `json:"callbackUrl"`
	Events      []string `json:"events"`
	DeviceIDs   []string `json:"deviceIds"`
}

// SubscribeResponse is the payload of SubscribeResponse.
type SubscribeResponse struct {
	SubscriptionID string   `json:"subscriptionId"`
	Events         []string `json:"events"`
	ExpiresAt      int64    `json:"expiresAt"`
}

// Subscription is one subscription as ListSubscriptions shows it.
type Subscription struct {
	SubscriptionID string   `json:"subscriptionId"`
	CallbackURL    string   `json:"callbackUrl"`
	Events         []string `json:"events"`
	DeviceIDs      []string `json:"deviceIds"`
	ExpiresAt      int64    `json:"expiresAt"`
}

// Operations returns the CIC.Subscription operations for the /cic/v1
// handler.
func (n *Notifier) Operations() map[string]cic.Operation {
	return map[string]cic.Operation{
		"CIC.Subscription/Subscribe":         {Scope: cic.ScopeSubscriptions, Mutating: true, Do: n.subscribe},
		"CIC.Subscription/Unsubscribe":       {Scope: cic.ScopeSubscriptions, Mutating: true, Do: n.unsubscribe},
		"CIC.Subscription/ListSubscriptions": {Scope: cic.ScopeSubscriptions, Do: n.list},
	}
}

func badRequest(format string, args ...any) *device.Error {
	return &device.Error{Code: device.CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

func strict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid payload: %v", err)
	}
	return nil
}

func (n *Notifier) subscribe(ctx context.Context, c cic.Caller, raw json.RawMessage) (any, error) {
	var req SubscribeRequest
	if err := strict(raw, &req); err != nil {
		return nil, err
	}
	if len(req.Events) == 0 {
		return nil, badRequest("events must name at least one of StatusChanged, OnlineChanged, DevicesChanged")
	}
	for _, e := range req.Events {
		switch e {
		case EventStatusChanged, EventOnlineChanged, EventDevicesChanged:
		default:
			return nil, badRequest("unknown event %q", e)
		}
	}
	devices, err := checkSubscribeRequest(&req)
	if err != nil {
		return nil, err
	}
	p, err := n.opts.Partners.Partner(ctx, c.ClientID)
	if err != nil {
		return nil, fmt.Errorf("notify: partner %s: %w", c.ClientID, err)
	}
	if _, err := CheckCallback(ctx, req.CallbackURL, p.CallbackHosts, p.AllowPrivate, nil); err != nil {
		return nil, err
	}
	events := slices.Compact(slices.Sorted(slices.Values(req.Events)))
	now := time.Now()
	expires := now.Add(n.opts.SubscriptionTTL)
	ev, _ := json.Marshal(events)    // []string marshals
	devs, _ := json.Marshal(devices) // []string marshals
	n.subMu.Lock()
	defer n.subMu.Unlock()
	id, found, err := existingSubscription(ctx, n.db, c, req.CallbackURL, string(ev), string(devs), now)
	if err != nil {
		return nil, err
	}
	if found {
		if _, err := n.db.ExecContext(ctx, "UPDATE subscriptions SET expires_at = ? WHERE id = ?", expires.UnixMilli(), id); err != nil {
			return nil, fmt.Errorf("notify: renew subscription: %w", err)
		}
		return SubscribeResponse{SubscriptionID: id, Events: events, ExpiresAt: expires.UnixMilli()}, nil
	}
	if err := n.checkSubscriptionCaps(ctx, c, now); err != nil {
		return nil, err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("notify: subscription id: %w", err)
	}
	id = "sub_" + hex.EncodeToString(b[:])
	_, err = n.db.ExecContext(ctx, `INSERT INTO subscriptions
		(id, client_id, user_id, grant_id, callback_url, events, device_ids, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, c.ClientID, c.UserID, c.GrantID, req.CallbackURL, string(ev), string(devs), now.UnixMilli(), expires.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("notify: save subscription: %w", err)
	}
	n.log.Info("partner subscribed", "partner", c.ClientID, "subscription", id, "events", events)
	return SubscribeResponse{SubscriptionID: id, Events: events, ExpiresAt: expires.UnixMilli()}, nil
}

func notFound(id string) *device.Error {
	return &device.Error{Code: device.CodeSubscriptionNotFound, Message: "subscription " + id + " not found"}
}

func (n *Notifier) unsubscribe(ctx context.Context, c cic.Caller, raw json.RawMessage) (any, error) {
	var req struct {
		SubscriptionID string `json:"subscriptionId"`
	}
	if err := strict(raw, &req); err != nil {
		return nil, err
	}
	if req.SubscriptionID == "" {
		return nil, badRequest("subscriptionId is missing")
	}
	if len(req.SubscriptionID) > cic.MaxIDLen {
		return nil, badRequest("subscriptionId is longer than %d bytes", cic.MaxIDLen)
	}
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("notify: unsubscribe: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	// A partner ends only its own subscriptions; another's is "not found".
	res, err := tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE id = ? AND client_id = ? AND ended_at IS NULL",
		req.SubscriptionID, c.ClientID)
	if err != nil {
		return nil, fmt.Errorf("notify: unsubscribe: %w", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return nil, notFound(req.SubscriptionID)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE subscription_id = ?", req.SubscriptionID); err != nil {
		return nil, fmt.Errorf("notify: unsubscribe: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("notify: unsubscribe: %w", err)
	}
	// The memory outbox's copies go too (the durable ones just went; the
	// next flush's deletes of them find nothing).
	if _, err := n.mem.ExecContext(ctx, "DELETE FROM outbox WHERE subscription_id = ?", req.SubscriptionID); err != nil {
		return nil, fmt.Errorf("notify: unsubscribe: %w", err)
	}
	n.dirty.Store(true)
	n.seqMu.Lock()
	delete(n.seqs, req.SubscriptionID)
	n.seqMu.Unlock()
	n.forgetPending(c.ClientID)
	return struct{}{}, nil
}

func (n *Notifier) list(ctx context.Context, c cic.Caller, raw json.RawMessage) (any, error) {
	var req struct{}
	if err := strict(raw, &req); err != nil {
		return nil, err
	}
	rows, err := n.db.QueryContext(ctx, `SELECT id, callback_url, events, device_ids, expires_at FROM subscriptions
		WHERE client_id = ? AND ended_at IS NULL ORDER BY created_at, id`, c.ClientID)
	if err != nil {
		return nil, fmt.Errorf("notify: list subscriptions: %w", err)
	}
	defer rows.Close()
	out := struct {
		Subscriptions []Subscription `json:"subscriptions"`
	}{Subscriptions: []Subscription{}}
	for rows.Next() {
		var s Subscription
		var ev, devs string
		if err := rows.Scan(&s.SubscriptionID, &s.CallbackURL, &ev, &devs, &s.ExpiresAt); err != nil {
			return nil, fmt.Errorf("notify: list subscriptions: %w", err)
		}
		json.Unmarshal([]byte(ev), &s.Events)      //nolint:errcheck // written by us
		json.Unmarshal([]byte(devs), &s.DeviceIDs) //nolint:errcheck
		out.Subscriptions = append(out.Subscriptions, s)
	}
	return out, rows.Err()
}

// activeSub is a subscription as the outbox writer sees it.
type activeSub struct {
	id, clientID, userID, grantID string
	events                        map[string]bool
	devices                       map[string]bool // empty = all exposed
	nextSeq                       int64
}

// loadActive reads the live subscriptions inside tx (the sequence numbers
// must come from the transaction that advances them).
func loadActive(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, now time.Time) ([]*activeSub, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, client_id, user_id, grant_id, events, device_ids, next_seq
		FROM subscriptions WHERE ended_at IS NULL AND expires_at > ?`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("notify: load subscriptions: %w", err)
	}
	defer rows.Close()
	var out []*activeSub
	for rows.Next() {
		s := &activeSub{events: map[string]bool{}, devices: map[string]bool{}}
		var ev, devs string
		if err := rows.Scan(&s.id, &s.clientID, &s.userID, &s.grantID, &ev, &devs, &s.nextSeq); err != nil {
			return nil, fmt.Errorf("notify: load subscriptions: %w", err)
		}
		var evs, ids []string
		json.Unmarshal([]byte(ev), &evs)   //nolint:errcheck // written by us
		json.Unmarshal([]byte(devs), &ids) //nolint:errcheck
		for _, e := range evs {
			s.events[e] = true
		}
		for _, d := range ids {
			s.devices[d] = true
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (s *activeSub) caller() cic.Caller {
	return cic.Caller{ClientID: s.clientID, UserID: s.userID, GrantID: s.grantID}
}

func (s *activeSub) wants(event, deviceID string) bool {
	return s.events[event] && (len(s.devices) == 0 || s.devices[deviceID])
}
