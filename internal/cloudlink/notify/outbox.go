package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// outboxRow is one event waiting for delivery.
type outboxRow struct {
	sub     *activeSub
	name    string
	payload []byte
}

// Event payloads as stored (the sequence is added at delivery).
type statusEvent struct {
	DeviceID  string                  `json:"deviceId"`
	State     map[string]device.Value `json:"state"`
	Timestamp int64                   `json:"timestamp"`
}

type onlineEvent struct {
	DeviceID  string `json:"deviceId"`
	Online    bool   `json:"online"`
	Timestamp int64  `json:"timestamp"`
}

type devicesEvent struct {
	Added   []device.Device `json:"added"`
	Removed []string        `json:"removed"`
	Updated []device.Device `json:"updated"`
}

type unlinkedEvent struct {
	UserID string `json:"userId"`
	Reason string `json:"reason"`
}

// publish turns a window's batch of state and online changes, as the
// state writer hands it on, into events in the memory outbox and wakes the
// partners' workers; the events become durable with the state (persistTx).
func (n *Notifier) publish(batch []store.Change) {
	// Not Run's context: a batch published while stopping is still taken.
	ctx := context.Background()
	clients, err := n.inMemTx(ctx, "state event", func(subs []*activeSub) ([]outboxRow, error) {
		return n.stateEvents(ctx, subs, batch), nil
	})
	if err != nil {
		n.log.Error("notify: state events", "err", err)
	}
	n.wake(clients)
}

// stateEvents builds the events of a batch for the subscriptions.
func (n *Notifier) stateEvents(ctx context.Context, subs []*activeSub, batch []store.Change) []outboxRow {
	// One StatusChanged event per device per batch, with all its changed
	// properties; online flips each their own event.
	type devChange struct {
		state  map[string]device.Value
		online []store.Change
		at     time.Time
	}
	byDev := map[string]*devChange{}
	var order []string
	for _, c := range batch {
		dc := byDev[c.DeviceID]
		if dc == nil {
			dc = &devChange{}
			byDev[c.DeviceID] = dc
			order = append(order, c.DeviceID)
		}
		if c.At.After(dc.at) {
			dc.at = c.At
		}
		if c.Property == "" {
			dc.online = append(dc.online, c)
			continue
		}
		if dc.state == nil {
			dc.state = map[string]device.Value{}
		}
		dc.state[c.Property] = c.Value
	}
	preds := make([]func(*device.Device) bool, len(subs))
	for i, s := range subs {
		preds[i] = n.exposure(ctx, s.caller())
	}
	var rows []outboxRow
	exposed := make([]bool, len(subs))
	for _, id := range order {
		dc := byDev[id]
		// View, not Device: no copy of the device per change on this path.
		if !n.hub.View(id, func(d *device.Device) {
			for i := range subs {
				exposed[i] = preds[i](d)
			}
		}) {
			continue
		}
		// An event's payload is the same for every subscription (the
		// sequence is added at delivery): encoded once, shared (rows are
		// only read).
		var status []byte
		online := make([][]byte, len(dc.online))
		for i, s := range subs {
			if !exposed[i] {
				continue
			}
			if dc.state != nil && s.wants(EventStatusChanged, id) {
				if status == nil {
					status = appendStatusEvent(nil, id, dc.state, dc.at.UnixMilli())
				}
				rows = append(rows, outboxRow{sub: s, name: EventStatusChanged, payload: status})
			}
			for j, oc := range dc.online {
				if s.wants(EventOnlineChanged, id) {
					if online[j] == nil {
						on, _ := oc.Value.AsBool()
						online[j], _ = json.Marshal(onlineEvent{DeviceID: id, Online: on, Timestamp: oc.At.UnixMilli()})
					}
					rows = append(rows, outboxRow{sub: s, name: EventOnlineChanged, payload: online[j]})
				}
			}
		}
	}
	return rows
}

// insertRows appends events to the durable outbox, numbering them per
// subscription from next_seq inside the same transaction, for commands run
// while no agent runs (Offline); the agent numbers with nextSeq.
func insertRows(ctx context.Context, tx *sql.Tx, rows []outboxRow) error {
	touched := map[*activeSub]bool{}
	err := insertOutbox(ctx, tx, nil, rows, func(s *activeSub) int64 {
		touched[s] = true
		s.nextSeq++
		return s.nextSeq - 1
	})
	if err != nil {
		return err
	}
	for s := range touched {
		if _, err := tx.ExecContext(ctx, "UPDATE subscriptions SET next_seq = ? WHERE id = ?", s.nextSeq, s.id); err != nil {
			return fmt.Errorf("notify: outbox: %w", err)
		}
	}
	return nil
}

// insertChunk is how many events one INSERT statement appends: per
// statement, not per row, database/sql and SQLite set up the call and
// open the table and its index.
const insertChunk = 32

// insertOutboxSQL returns the INSERT of k events.
func insertOutboxSQL(k int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO outbox (subscription_id, client_id, seq, name, payload, created_at) VALUES ")
	for i := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// insertOutbox appends events to an outbox table (durable or in memory,
// the same columns), in order, each numbered by seq. full, if set, is
// insertOutboxSQL(insertChunk) prepared on tx's database; otherwise the
// statements are prepared in tx.
func insertOutbox(ctx context.Context, tx *sql.Tx, full *sql.Stmt, rows []outboxRow, seq func(*activeSub) int64) error {
	if len(rows) == 0 {
		return nil
	}
	var fullTx *sql.Stmt
	if full != nil && len(rows) >= insertChunk {
		fullTx = tx.StmtContext(ctx, full)
		defer fullTx.Close()
	}
	// The arguments are boxed once where rows share them (a subscription's
	// ids, an event's payload and name, the time), not once per row: a
	// window of 1,000 changed devices for 3 partners is 3,000 rows.
	type subArgs struct{ id, client any }
	subs := map[*activeSub]subArgs{}
	args := make([]any, 0, 6*min(len(rows), insertChunk))
	now := any(time.Now().UnixMilli())
	var lastPayload []byte
	var lastName string
	var payloadArg, nameArg any
	for start := 0; start < len(rows); start += insertChunk {
		chunk := rows[start:min(start+insertChunk, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			sa, ok := subs[r.sub]
			if !ok {
				sa = subArgs{r.sub.id, r.sub.clientID}
				subs[r.sub] = sa
			}
			if nameArg == nil || r.name != lastName {
				nameArg, lastName = r.name, r.name
			}
			if payloadArg == nil || len(r.payload) != len(lastPayload) || len(r.payload) == 0 || &r.payload[0] != &lastPayload[0] {
				payloadArg, lastPayload = r.payload, r.payload
			}
			args = append(args, sa.id, sa.client, seq(r.sub), nameArg, payloadArg, now)
		}
		st := fullTx
		if len(chunk) < insertChunk || st == nil {
			var err error
			if st, err = tx.PrepareContext(ctx, insertOutboxSQL(len(chunk))); err != nil {
				return fmt.Errorf("notify: outbox: %w", err)
			}
			defer st.Close()
			if len(chunk) == insertChunk {
				fullTx = st // without full (the durable outbox): prepared once per call
			}
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("notify: outbox: %w", err)
		}
	}
	return nil
}

// wake starts or nudges the workers of the given partners.
func (n *Notifier) wake(clients map[string]bool) {
	ctx := n.runCtx()
	if ctx == nil {
		return
	}
	for c := range clients {
		n.ensureWorker(ctx, c)
	}
}

// inSubsTx runs fn in a transaction with the live subscriptions loaded in
// it, inserts the outbox rows fn returns (numbered in that transaction) and
// commits.
// It returns the partners that got events. bound, if set, keeps the
// outbox within its per-partner bound in the same transaction.
func inSubsTx(ctx context.Context, db *sql.DB, what string, fn func(tx *sql.Tx, subs []*activeSub) ([]outboxRow, error),
	bound func(context.Context, *sql.Tx, []outboxRow) error) (map[string]bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("notify: %s: %w", what, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	subs, err := loadActive(ctx, tx, time.Now())
	if err != nil {
		return nil, err
	}
	rows, err := fn(tx, subs)
	if err != nil {
		return nil, err
	}
	if err := insertRows(ctx, tx, rows); err != nil {
		return nil, err
	}
	if bound != nil {
		if err := bound(ctx, tx, rows); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("notify: %s: %w", what, err)
	}
	clients := map[string]bool{}
	for _, r := range rows {
		clients[r.sub.clientID] = true
	}
	return clients, nil
}

// deviceEvent turns a device added, updated or removed into DevicesChanged
// for the subscriptions whose grant exposes it.
func (n *Notifier) deviceEvent(ctx context.Context, e hub.Event) error {
	clients, err := n.inMemTx(ctx, "device event", func(subs []*activeSub) ([]outboxRow, error) {
		var rows []outboxRow
		for _, s := range subs {
			if !s.wants(EventDevicesChanged, e.DeviceID) {
				continue
			}
			// Every event type, removals included, is decided on the device
			// as the grant last saw it: a partner never learns the id of a
			// device it was not shown (ids carry names and MAC/IEEE addresses).
			if e.Device == nil || !n.exposure(ctx, s.caller())(e.Device) {
				continue
			}
			ev := devicesEvent{Added: []device.Device{}, Removed: []string{}, Updated: []device.Device{}}
			switch e.Type {
			case hub.DeviceRemoved:
				ev.Removed = append(ev.Removed, e.DeviceID)
			case hub.DeviceAdded:
				ev.Added = append(ev.Added, *e.Device)
			case hub.DeviceUpdated:
				ev.Updated = append(ev.Updated, *e.Device)
			default:
				continue
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return nil, fmt.Errorf("notify: device event: %w", err)
			}
			rows = append(rows, outboxRow{sub: s, name: EventDevicesChanged, payload: b})
		}
		return rows, nil
	})
	n.wake(clients)
	return err
}

// ExposureChanged tells a grant's subscriptions that devices were shared
// with (added) or withdrawn from (removed) the partner.
func (n *Notifier) ExposureChanged(ctx context.Context, grantID string, added, removed []string) error {
	n.expoMu.Lock()
	delete(n.expoCache, grantID)
	n.expoMu.Unlock()
	clients, err := n.inMemTx(ctx, "exposure change", func(subs []*activeSub) ([]outboxRow, error) {
		var rows []outboxRow
		for _, s := range subs {
			if s.grantID != grantID || !s.events[EventDevicesChanged] {
				continue
			}
			ev := devicesEvent{Added: []device.Device{}, Removed: []string{}, Updated: []device.Device{}}
			for _, id := range added {
				if d, ok := n.hub.Device(id); ok && (len(s.devices) == 0 || s.devices[id]) {
					ev.Added = append(ev.Added, *d)
				}
			}
			for _, id := range removed {
				if len(s.devices) == 0 || s.devices[id] {
					ev.Removed = append(ev.Removed, id)
				}
			}
			if len(ev.Added)+len(ev.Removed) == 0 {
				continue
			}
			b, _ := json.Marshal(ev) // devices and strings always marshal
			rows = append(rows, outboxRow{sub: s, name: EventDevicesChanged, payload: b})
		}
		return rows, nil
	})
	n.wake(clients)
	return err
}

// GrantRevoked ends a grant's subscriptions: each gets AccountUnlinked
// queued (its last event) and stops receiving anything else. The event is
// made durable at once (a flush): the ended subscription already is.
func (n *Notifier) GrantRevoked(ctx context.Context, grantID, reason string) error {
	clients, err := n.inMemTx(ctx, "unlink", func(subs []*activeSub) ([]outboxRow, error) {
		var rows []outboxRow
		for _, s := range subs {
			if s.grantID == grantID {
				b, _ := json.Marshal(unlinkedEvent{UserID: s.userID, Reason: reason}) // strings always marshal
				rows = append(rows, outboxRow{sub: s, name: EventAccountUnlinked, payload: b})
			}
		}
		return rows, nil
	})
	if err != nil {
		return err
	}
	if _, err := n.db.ExecContext(ctx, "UPDATE subscriptions SET ended_at = ? WHERE grant_id = ? AND ended_at IS NULL",
		time.Now().UnixMilli(), grantID); err != nil {
		return fmt.Errorf("notify: unlink: %w", err)
	}
	n.wake(clients)
	if len(clients) > 0 {
		if err := n.hub.Flush(ctx); err != nil {
			return fmt.Errorf("notify: unlink: %w", err)
		}
	}
	return nil
}

// Offline queues events with the database alone, for a command run while
// no agent (and so no Notifier) runs: the agent delivers them at its next
// start.
type Offline struct{ DB *sql.DB }

// GrantRevoked is Notifier.GrantRevoked without a running agent: the
// grant's subscriptions get AccountUnlinked queued and end.
func (o Offline) GrantRevoked(ctx context.Context, grantID, reason string) error {
	_, err := inSubsTx(ctx, o.DB, "unlink", func(tx *sql.Tx, subs []*activeSub) ([]outboxRow, error) {
		var rows []outboxRow
		for _, s := range subs {
			if s.grantID == grantID {
				b, _ := json.Marshal(unlinkedEvent{UserID: s.userID, Reason: reason}) // strings always marshal
				rows = append(rows, outboxRow{sub: s, name: EventAccountUnlinked, payload: b})
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE subscriptions SET ended_at = ? WHERE grant_id = ? AND ended_at IS NULL",
			time.Now().UnixMilli(), grantID); err != nil {
			return nil, fmt.Errorf("notify: unlink: %w", err)
		}
		return rows, nil
	}, nil)
	return err
}
