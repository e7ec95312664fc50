package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
)

// Limits on a Subscribe request. With the caps on subscriptions they bound
// what one partner can make the hub store and send: at most
// MaxSubscriptionsPerPartner rows of at most some 70 KiB, and one change
// costs at most that many outbox rows and POSTs.
const (
	// MaxCallbackURLLen bounds callbackUrl.
	MaxCallbackURLLen = 2048
	// MaxSubscriptionDeviceIDs bounds deviceIds in one subscription; an
	// empty list (every exposed device) serves larger households.
	MaxSubscriptionDeviceIDs = 256
	// maxEventNames bounds the events list (three names exist).
	maxEventNames = 8
)

// Defaults of the caps (config notify.max_subscriptions_per_grant,
// notify.max_subscriptions_per_partner, notify.max_pending_per_partner).
const (
	DefaultMaxSubscriptionsPerGrant   = 16
	DefaultMaxSubscriptionsPerPartner = 64
	DefaultMaxPendingPerPartner       = 10000
)

// checkSubscribeRequest bounds a Subscribe payload's sizes and returns its
// device ids sorted and de-duplicated (identical subscriptions compare
// equal whatever the order the partner listed them in).
func checkSubscribeRequest(req *SubscribeRequest) ([]string, error) {
	if len(req.CallbackURL) > MaxCallbackURLLen {
		return nil, badRequest("callbackUrl is longer than %d bytes", MaxCallbackURLLen)
	}
	if len(req.Events) > maxEventNames {
		return nil, badRequest("events lists more than %d names", maxEventNames)
	}
	if len(req.DeviceIDs) > MaxSubscriptionDeviceIDs {
		return nil, badRequest("deviceIds lists more than %d devices; an empty list follows every exposed device", MaxSubscriptionDeviceIDs)
	}
	for i, id := range req.DeviceIDs {
		if err := cic.CheckID("deviceIds["+strconv.Itoa(i)+"]", id); err != nil {
			return nil, err
		}
	}
	ids := slices.Compact(slices.Sorted(slices.Values(req.DeviceIDs)))
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// existingSubscription finds a live subscription of the same grant with
// the same callback, events and devices. A partner that subscribes again
// (a retry with a new messageId, a restart of its own) gets that one back,
// its lifetime renewed, instead of a second one that would double every
// notification.
func existingSubscription(ctx context.Context, db *sql.DB, c cic.Caller, callback, events, devices string, now time.Time) (string, bool, error) {
	var id string
	err := db.QueryRowContext(ctx, `SELECT id FROM subscriptions WHERE client_id = ? AND grant_id = ? AND callback_url = ?
		AND events = ? AND device_ids = ? AND ended_at IS NULL AND expires_at > ? LIMIT 1`,
		c.ClientID, c.GrantID, callback, events, devices, now.UnixMilli()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("notify: find subscription: %w", err)
	}
	return id, true, nil
}

// checkSubscriptionCaps refuses a new subscription past the grant's or the
// partner's cap. The caller holds subMu, so two concurrent Subscribes
// cannot both take the last place.
func (n *Notifier) checkSubscriptionCaps(ctx context.Context, c cic.Caller, now time.Time) error {
	var perGrant, perPartner int
	err := n.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(grant_id = ?), 0) FROM subscriptions
		WHERE client_id = ? AND ended_at IS NULL AND expires_at > ?`, c.GrantID, c.ClientID, now.UnixMilli()).Scan(&perPartner, &perGrant)
	if err != nil {
		return fmt.Errorf("notify: count subscriptions: %w", err)
	}
	switch {
	case perGrant >= n.opts.MaxSubscriptionsPerGrant:
		return badRequest("this account link already holds %d subscriptions, the most allowed; unsubscribe one first",
			n.opts.MaxSubscriptionsPerGrant)
	case perPartner >= n.opts.MaxSubscriptionsPerPartner:
		return badRequest("this partner already holds %d subscriptions on this hub, the most allowed; unsubscribe one first",
			n.opts.MaxSubscriptionsPerPartner)
	}
	return nil
}
