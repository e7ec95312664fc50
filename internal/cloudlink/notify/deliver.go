package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"
)

// worker delivers one partner's outbox, one subscription at a time in
// sequence order, taking the partner's subscriptions in turn. Partners are
// independent: one that is down for an hour delays nobody else; and so are
// a partner's subscriptions: one whose callback fails backs off on its own
// (subBackoff) while its siblings keep being delivered.
type worker struct {
	n        *Notifier
	clientID string
	wake     chan struct{}
	auth     *pushAuth
	partner  Partner
	client   *http.Client
	loadedAt time.Time

	lastExpiry time.Time
	lastRecord time.Time
	lastOK     bool

	backoff map[string]*subBackoff // by subscription id, while failing
	lastSub string                 // delivered last, for taking turns

	// A round's rows and their payloads, kept for the next round.
	batch    []pending
	payloads []byte
}

// subBackoff is one failing subscription's retry state.
type subBackoff struct {
	pause time.Duration
	until time.Time
}

// retryTimeout bounds a POST to a callback that is already failing: a
// callback that hangs rather than refuses holds its partner's worker for
// this long per retry, not for the client's full timeout.
const retryTimeout = 5 * time.Second

func (n *Notifier) runCtx() context.Context {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ctx
}

// wakeBacklog starts a worker for every partner with pending events.
func (n *Notifier) wakeBacklog(ctx context.Context) error {
	rows, err := n.mem.QueryContext(ctx, "SELECT DISTINCT client_id FROM outbox")
	if err != nil {
		return fmt.Errorf("notify: pending partners: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		n.ensureWorker(ctx, id)
	}
	return rows.Err()
}

func (n *Notifier) ensureWorker(ctx context.Context, clientID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w, ok := n.workers[clientID]; ok {
		select {
		case w.wake <- struct{}{}:
		default:
		}
		return
	}
	w := &worker{n: n, clientID: clientID, wake: make(chan struct{}, 1), backoff: map[string]*subBackoff{}}
	n.workers[clientID] = w
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		w.run(ctx)
	}()
}

// run delivers until ctx ends. It survives panics: a bug in one delivery
// must not stop a partner's notifications for good.
func (w *worker) run(ctx context.Context) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		more, wait, err := w.safeRound(ctx)
		switch {
		case err != nil:
			// The outbox itself failed (not a callback): the whole
			// partner waits.
			w.n.failures.Add(1)
			backoff = nextBackoff(backoff, w.n.opts.MinBackoff, w.n.opts.MaxBackoff)
			wait = backoff
			w.n.log.Warn("notify: delivery failed; retrying", "partner", w.clientID, "retry_in", wait.Round(time.Millisecond), "err", err)
		case more:
			backoff = 0
			continue
		default:
			backoff = 0
		}
		if wait <= 0 || wait > 5*time.Second {
			wait = 5 * time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
			t.Stop()
			if err != nil {
				// A failing outbox is retried on its backoff, not on
				// every new event. (A failing callback's subscription
				// is skipped by round until its own backoff ends.)
				t2 := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t2.Stop()
					return
				case <-t2.C:
				}
			}
		case <-t.C:
		}
	}
}

// nextBackoff doubles the pause up to max, with full jitter over its upper
// half so many hubs do not retry a recovering partner in lockstep.
func nextBackoff(prev, minB, maxB time.Duration) time.Duration {
	d := max(prev*2, minB)
	d = min(d, maxB)
	half := int64(d / 2)
	j, err := rand.Int(rand.Reader, big.NewInt(half+1))
	if err != nil {
		return d
	}
	return time.Duration(half + j.Int64())
}

func (w *worker) safeRound(ctx context.Context) (more bool, wait time.Duration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("notify: delivery panicked: %v", r)
		}
	}()
	return w.round(ctx)
}

// pending is one outbox row read for delivery.
type pending struct {
	id      int64
	subID   string
	seq     int64
	name    string
	payload json.RawMessage
}

// maxKeptPayloads bounds the payload buffer a worker keeps between rounds.
const maxKeptPayloads = 64 << 10

// round drops expired events, then sends the oldest run of same-named
// events of the next subscription (in turn after the one served last) that
// has anything pending and is not backing off. It reports whether more may
// be waiting, or else how long until a backing-off subscription is due.
func (w *worker) round(ctx context.Context) (bool, time.Duration, error) {
	// Expiry is checked every few seconds, not per POST: it is a write.
	if time.Since(w.lastExpiry) > min(5*time.Second, w.n.opts.MaxAge) {
		w.lastExpiry = time.Now()
		if err := w.dropExpired(ctx); err != nil {
			return false, 0, err
		}
	}
	subID, due, err := w.nextSubscription(ctx)
	if err != nil || subID == "" {
		return false, due, err
	}
	rows, err := w.n.memStmts.batch.QueryContext(ctx, w.clientID, subID, w.n.opts.BatchSize)
	if err != nil {
		return false, 0, fmt.Errorf("notify: read outbox: %w", err)
	}
	// The rows are scanned into variables they share and their payloads
	// copied into one buffer, both kept by the worker for its next round
	// (nothing holds them past a round: the body is encoded from them):
	// no scan destinations and one payload copy fewer per event.
	var (
		id, seq int64
		name    string
		raw     sql.RawBytes
	)
	dest := []any{&id, &seq, &name, &raw}
	batch, buf := w.batch[:0], w.payloads[:0]
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return false, 0, fmt.Errorf("notify: read outbox: %w", err)
		}
		// One POST carries one subscription's consecutive events of one
		// kind; DevicesChanged and AccountUnlinked travel alone.
		if len(batch) > 0 && (name != batch[0].name || name == EventDevicesChanged || name == EventAccountUnlinked) {
			break
		}
		// Earlier payloads stay valid when buf grows: they keep the old
		// array, which nothing writes to again.
		start := len(buf)
		buf = append(buf, raw...)
		batch = append(batch, pending{id: id, subID: subID, seq: seq, name: name, payload: buf[start:len(buf):len(buf)]})
	}
	rows.Close()
	defer func() {
		clear(batch) // keeps no names alive
		if cap(buf) <= maxKeptPayloads {
			w.batch, w.payloads = batch[:0], buf[:0]
		} else {
			w.batch, w.payloads = nil, nil // a rare large batch (DevicesChanged) is not kept
		}
	}()
	if len(batch) == 0 {
		return true, 0, nil // acknowledged meanwhile
	}
	w.lastSub = subID
	var callback, grantID string
	var ended *int64
	err = w.n.db.QueryRowContext(ctx, "SELECT callback_url, grant_id, ended_at FROM subscriptions WHERE id = ?",
		subID).Scan(&callback, &grantID, &ended)
	if err != nil {
		// The subscription is gone (unsubscribed): its events go with it.
		_, derr := w.n.mem.ExecContext(ctx, "DELETE FROM outbox WHERE subscription_id = ?", subID)
		w.n.dirty.Store(true)
		w.n.forgetPending(w.clientID)
		delete(w.backoff, subID)
		return true, 0, derr
	}
	body, err := encodeNotification(batch)
	if err != nil {
		return false, 0, err
	}
	pctx := ctx
	if b := w.backoff[subID]; b != nil {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, retryTimeout)
		defer cancel()
	}
	if err := w.post(pctx, callback, body); err != nil {
		if ctx.Err() != nil {
			return false, 0, ctx.Err()
		}
		w.record(ctx, err)
		w.failed(subID, err)
		return true, 0, nil // the partner's other subscriptions go on
	}
	delete(w.backoff, subID)
	w.record(ctx, nil)
	if err := w.ack(ctx, batch); err != nil {
		return false, 0, err
	}
	if batch[len(batch)-1].name == EventAccountUnlinked {
		// The partner has heard the last word of this subscription.
		w.n.db.ExecContext(ctx, "DELETE FROM subscriptions WHERE id = ? AND ended_at IS NOT NULL", subID) //nolint:errcheck // cleanup
	}
	w.n.delivered.Add(uint64(len(batch)))
	w.n.pendingDone(w.clientID, len(batch))
	return true, 0, nil
}

// nextSubscription picks the subscription to serve: the first with pending
// events after the one served last, wrapping around, skipping those
// backing off. With none ready, it returns how long until the first
// backing-off one is due (0: nothing pending at all).
func (w *worker) nextSubscription(ctx context.Context) (string, time.Duration, error) {
	now := time.Now()
	var due time.Duration
	after, wrapped := w.lastSub, false
	for range w.n.opts.MaxSubscriptionsPerPartner + len(w.backoff) + 2 {
		var id string
		err := w.n.memStmts.nextSub.QueryRowContext(ctx, w.clientID, after).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			if wrapped || after == "" {
				return "", due, nil
			}
			after, wrapped = "", true
			continue
		}
		if err != nil {
			return "", 0, fmt.Errorf("notify: read outbox: %w", err)
		}
		if wrapped && id > w.lastSub {
			return "", due, nil // went all the way round
		}
		b := w.backoff[id]
		if b == nil || !now.Before(b.until) {
			return id, 0, nil
		}
		if d := b.until.Sub(now); due == 0 || d < due {
			due = d
		}
		after = id
	}
	return "", due, nil
}

// failed puts a subscription whose callback failed on its own backoff.
func (w *worker) failed(subID string, err error) {
	w.n.failures.Add(1)
	b := w.backoff[subID]
	if b == nil {
		b = &subBackoff{}
		w.backoff[subID] = b
	}
	b.pause = nextBackoff(b.pause, w.n.opts.MinBackoff, w.n.opts.MaxBackoff)
	b.until = time.Now().Add(b.pause)
	w.n.log.Warn("notify: delivery failed; retrying", "partner", w.clientID, "subscription", subID,
		"retry_in", b.pause.Round(time.Millisecond), "err", err)
}

// ack deletes a delivered batch from the memory outbox: one
// subscription's consecutive sequence numbers, so one statement. Durable
// copies are deleted by the next flush, with everything else acknowledged.
func (w *worker) ack(ctx context.Context, batch []pending) error {
	w.n.dirty.Store(true)
	_, err := w.n.memStmts.ack.ExecContext(ctx, w.clientID, batch[0].subID, batch[0].seq, batch[len(batch)-1].seq)
	if err != nil {
		return fmt.Errorf("notify: ack: %w", err)
	}
	return nil
}

// errStatus is a partner answer that is not 2xx.
type errStatus struct{ code int }

func (e errStatus) Error() string { return fmt.Sprintf("partner answered HTTP %d", e.code) }

// post sends one notification. A 401 gets one retry with a fresh token.
func (w *worker) post(ctx context.Context, callback string, body []byte) error {
	if err := w.refreshPartner(ctx); err != nil {
		return err
	}
	for attempt := 0; attempt < 2; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "hubagent-notify")
		if err := w.auth.apply(ctx, req, body); err != nil {
			return err
		}
		resp, err := w.client.Do(req)
		if err != nil {
			return fmt.Errorf("notify: post %s: %w", callback, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drain for reuse
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && w.auth.canRefresh() {
			w.auth.invalidate()
			continue
		}
		return fmt.Errorf("notify: post %s: %w", callback, errStatus{resp.StatusCode})
	}
	return fmt.Errorf("notify: post %s: %w", callback, errStatus{http.StatusUnauthorized})
}

// refreshPartner (re)loads the partner's settings every minute, so a
// changed secret or callback host applies without a restart.
func (w *worker) refreshPartner(ctx context.Context) error {
	if w.client != nil && time.Since(w.loadedAt) < time.Minute {
		return nil
	}
	p, err := w.n.opts.Partners.Partner(ctx, w.clientID)
	if err != nil {
		return fmt.Errorf("notify: partner %s: %w", w.clientID, err)
	}
	tr := &http.Transport{
		DialContext:           guardedDialer(p.AllowPrivate).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: w.n.roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	w.client = &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		// Never follow redirects: a partner answering 3xx is not an
		// acknowledgement, and a redirect must not steer the hub elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	w.partner = p
	w.auth = newPushAuth(p, w.client)
	w.loadedAt = time.Now()
	return nil
}

// record keeps the partner's delivery health for `partner list` and the
// status page.
func (w *worker) record(ctx context.Context, failure error) {
	// Success after success is written by the next flush: on flash, the
	// health row must not cost a write per POST. Transitions (and each
	// failure, which backoff spaces out) are written at once.
	if failure == nil && w.lastOK {
		w.n.noteSuccess(w.clientID, time.Now())
		return
	}
	w.lastOK, w.lastRecord = failure == nil, time.Now()
	now := time.Now().UnixMilli()
	var err error
	if failure == nil {
		_, err = w.n.db.ExecContext(ctx, `INSERT INTO partner_delivery (client_id, last_attempt_at, last_success_at, last_result, failures, needs_relink)
			VALUES (?, ?, ?, 'ok', 0, 0) ON CONFLICT(client_id) DO UPDATE SET last_attempt_at = excluded.last_attempt_at,
			last_success_at = excluded.last_success_at, last_result = 'ok', failures = 0, needs_relink = 0`, w.clientID, now, now)
	} else {
		relink := 0
		if errors.Is(failure, errRelink) {
			relink = 1
		}
		msg := failure.Error()
		if len(msg) > 300 {
			msg = msg[:300]
		}
		_, err = w.n.db.ExecContext(ctx, `INSERT INTO partner_delivery (client_id, last_attempt_at, last_result, failures, needs_relink)
			VALUES (?, ?, ?, 1, ?) ON CONFLICT(client_id) DO UPDATE SET last_attempt_at = excluded.last_attempt_at,
			last_result = excluded.last_result, failures = partner_delivery.failures + 1,
			needs_relink = max(partner_delivery.needs_relink, excluded.needs_relink)`, w.clientID, now, msg, relink)
	}
	if err != nil {
		w.n.log.Debug("notify: record delivery", "err", err)
	}
}

// dropExpired deletes events older than max_age, counts them and says so:
// a partner away longer than that must resynchronise with Discover and
// QueryStatus rather than receive a day-old flood.
func (w *worker) dropExpired(ctx context.Context) error {
	cut := time.Now().Add(-w.n.opts.MaxAge).UnixMilli()
	res, err := w.n.mem.ExecContext(ctx, "DELETE FROM outbox WHERE client_id = ? AND created_at < ?", w.clientID, cut)
	if err != nil {
		return fmt.Errorf("notify: drop expired: %w", err)
	}
	k, _ := res.RowsAffected()
	if k > 0 {
		w.n.dirty.Store(true)
		w.n.pendingDone(w.clientID, int(k))
		w.n.db.ExecContext(ctx, `INSERT INTO partner_delivery (client_id, dropped) VALUES (?, ?)
			ON CONFLICT(client_id) DO UPDATE SET dropped = partner_delivery.dropped + excluded.dropped`, w.clientID, k) //nolint:errcheck // a counter
		w.n.dropped.Add(uint64(k))
		w.n.log.Warn("notify: dropped undelivered events older than max_age", "partner", w.clientID, "count", k,
			"max_age", w.n.opts.MaxAge)
	}
	return nil
}

// hmacSignature is the X-CIC-Signature value for body.
func hmacSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
