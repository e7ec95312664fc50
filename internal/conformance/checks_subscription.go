package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// pushWait is how long the kit waits for a notification.
const pushWait = 20 * time.Second

func (r *run) needCallback() (outcome, bool) {
	if o, ok := r.needLink(); !ok {
		return o, false
	}
	if r.cb == nil {
		return skipped(errNoCallback.Error()), false
	}
	return outcome{}, true
}

func (r *run) needSubscription() (outcome, bool) {
	if o, ok := r.needCallback(); !ok {
		return o, false
	}
	if r.subID == "" {
		return skipped("no subscription (see subscription.subscribe)"), false
	}
	return outcome{}, true
}

// statusEvent finds a StatusChanged event of sub for device with prop = v.
func (r *run) statusEvent(sub, device, prop string, v any) (push, bool) {
	for _, p := range r.cb.all() {
		if p.name != "StatusChanged" || p.body.SubscriptionID != sub {
			continue
		}
		for _, e := range p.body.Events {
			if e.DeviceID == device && sameValue(v, e.State[prop]) {
				return p, true
			}
		}
	}
	return push{}, false
}

func (r *run) subscribe() (answer, string) {
	return r.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": r.opts.CallbackURL,
		"events": []string{"StatusChanged", "OnlineChanged", "DevicesChanged"}, "deviceIds": []string{}})
}

func (r *run) listed(id string) (bool, answer) {
	a, _ := r.call("CIC.Subscription", "ListSubscriptions", map[string]any{})
	var p struct {
		Subscriptions []struct {
			SubscriptionID string   `json:"subscriptionId"`
			CallbackURL    string   `json:"callbackUrl"`
			Events         []string `json:"events"`
		} `json:"subscriptions"`
	}
	if a.status != http.StatusOK || !a.envOK || json.Unmarshal(a.env.Payload, &p) != nil {
		return false, a
	}
	for _, s := range p.Subscriptions {
		if s.SubscriptionID == id {
			return s.CallbackURL == r.opts.CallbackURL && len(s.Events) > 0, a
		}
	}
	return false, a
}

func subscriptionChecks() []check {
	var changedSeen bool
	return []check{
		{id: "subscription.invalid-callback", group: "subscription",
			requires: "a callback URL that is not https is INVALID_CALLBACK, HTTP 400 (profile §3, §6.1)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				cb := "http://conformance.invalid/cic/notify"
				if r.opts.CallbackURL != "" {
					cb = "http://" + strings.TrimPrefix(r.opts.CallbackURL, "https://")
				}
				a, sent := r.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": cb, "events": []string{"StatusChanged"}, "deviceIds": []string{}})
				return wantError(a, sent, http.StatusBadRequest, "INVALID_CALLBACK")
			}},
		{id: "subscription.subscribe", group: "subscription",
			requires: "Subscribe answers SubscribeResponse, HTTP 200, with subscriptionId, events and a future expiresAt (profile §6.1)",
			run: func(r *run) outcome {
				if o, ok := r.needCallback(); !ok {
					return o
				}
				a, sent := r.subscribe()
				var p struct {
					SubscriptionID string   `json:"subscriptionId"`
					Events         []string `json:"events"`
					ExpiresAt      float64  `json:"expiresAt"`
				}
				if a.status != http.StatusOK || !a.envOK || a.env.Header.Name != "SubscribeResponse" || json.Unmarshal(a.env.Payload, &p) != nil {
					return failed("no SubscribeResponse with HTTP 200", sent, a.String())
				}
				r.subID = p.SubscriptionID
				switch {
				case p.SubscriptionID == "":
					return failed("no subscriptionId", sent, a.String())
				case !slices.Contains(p.Events, "StatusChanged"):
					return failed("events lacks StatusChanged", sent, a.String())
				case time.UnixMilli(int64(p.ExpiresAt)).Before(time.Now()):
					return failed("expiresAt is not a future time in ms", sent, a.String())
				}
				return passed(sent, a.String())
			}},
		{id: "subscription.list", group: "subscription",
			requires: "ListSubscriptions shows the partner's subscription with its callbackUrl and events (profile §6.1)",
			run: func(r *run) outcome {
				if o, ok := r.needSubscription(); !ok {
					return o
				}
				ok, a := r.listed(r.subID)
				if !ok {
					return failed("the subscription is not listed with its callbackUrl and events", "ListSubscriptions", a.String())
				}
				return passed("ListSubscriptions", a.String())
			}},
		{id: "subscription.status-changed", group: "subscription",
			requires: "a Control that changes a device produces a StatusChanged POST to the callback naming the subscription, the device and the changed state (profile §6.2)",
			run: func(r *run) outcome {
				if o, ok := r.needSubscription(); !ok {
					return o
				}
				if r.ctl == nil {
					return skipped("no device confirmed a change (see control.confirmed-state)")
				}
				t := r.ctl
				a, sent := r.setTo(t, t.changed)
				if !confirmed(a, t.device.DeviceID, t.prop.Name, t.changed) {
					return failed("the Control was not confirmed", sent, a.String())
				}
				var got push
				ok := r.poll(pushWait, func() bool {
					var f bool
					got, f = r.statusEvent(r.subID, t.device.DeviceID, t.prop.Name, t.changed)
					return f
				})
				if !ok {
					return failed(fmt.Sprintf("no StatusChanged with %s = %v within %s", t.prop.Name, t.changed, pushWait), sent,
						fmt.Sprintf("%d POSTs at the callback", len(r.cb.all())))
				}
				changedSeen = true
				return passed(sent, "StatusChanged "+clip(got.raw, 240))
			}},
		{id: "subscription.sequence", group: "subscription",
			requires: "sequence grows by one per event within a subscription, delivered in order (profile §6.2)",
			run: func(r *run) outcome {
				if o, ok := r.needSubscription(); !ok {
					return o
				}
				if !changedSeen {
					return skipped("no StatusChanged arrived (see subscription.status-changed)")
				}
				t := r.ctl
				a, sent := r.setTo(t, t.original)
				if !confirmed(a, t.device.DeviceID, t.prop.Name, t.original) {
					return failed("the restoring Control was not confirmed", sent, a.String())
				}
				if !r.poll(pushWait, func() bool { _, f := r.statusEvent(r.subID, t.device.DeviceID, t.prop.Name, t.original); return f }) {
					return failed("no StatusChanged for the second change", sent, fmt.Sprintf("%d POSTs", len(r.cb.all())))
				}
				var seqs []int64
				for _, p := range r.cb.all() {
					if p.body.SubscriptionID != r.subID {
						continue
					}
					if p.body.Sequence != nil {
						seqs = append(seqs, *p.body.Sequence)
					}
					for _, e := range p.body.Events {
						if e.Sequence == nil {
							return failed("an event without sequence", sent, clip(p.raw, 200))
						}
						seqs = append(seqs, *e.Sequence)
					}
				}
				got := fmt.Sprintf("sequences in arrival order %v", seqs)
				uniq := slices.Compact(slices.Clone(seqs)) // at-least-once: an in-order duplicate is allowed
				for i := 1; i < len(uniq); i++ {
					if uniq[i] != uniq[i-1]+1 {
						return failed("sequence does not grow by one in delivery order", sent, got)
					}
				}
				if len(uniq) < 2 {
					return failed("fewer than two sequenced events", sent, got)
				}
				return passed(sent, got)
			}},
		{id: "subscription.push-auth", group: "subscription",
			requires: "every push is authenticated: Authorization: Bearer with a token from the partner's token endpoint (client credentials), or X-CIC-Signature: sha256=<HMAC of the body> (profile §6.2)",
			run: func(r *run) outcome {
				if o, ok := r.needSubscription(); !ok {
					return o
				}
				ps := r.cb.all()
				if len(ps) == 0 {
					return failed("no push arrived to verify", "", "")
				}
				for _, p := range ps {
					if s := r.cb.authProblem(p); s != "" {
						return failed(s, "", fmt.Sprintf("%s push: Authorization %q X-CIC-Signature %q", p.name, redact(p.authz), p.sig))
					}
				}
				how := "bearer tokens issued by the kit's token endpoint to " + strings.Join(slices.Compact(r.cb.clients), ",")
				if r.opts.CallbackHMACSecret != "" {
					how = "X-CIC-Signature verified with --callback-hmac-secret"
				}
				return passed("Subscribe with callbackUrl "+r.opts.CallbackURL, fmt.Sprintf("%d pushes, all with %s", len(ps), how))
			}},
		{id: "subscription.unknown-subscription", group: "subscription",
			requires: "Unsubscribe of an unknown subscriptionId is SUBSCRIPTION_NOT_FOUND, HTTP 404 (profile §3, §6.1)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				a, sent := r.call("CIC.Subscription", "Unsubscribe", map[string]any{"subscriptionId": "conformance-no-such-subscription"})
				return wantError(a, sent, http.StatusNotFound, "SUBSCRIPTION_NOT_FOUND")
			}},
		{id: "subscription.unsubscribe", group: "subscription",
			requires: "Unsubscribe answers UnsubscribeResponse, HTTP 200; the subscription is then gone from ListSubscriptions, and a second Unsubscribe is SUBSCRIPTION_NOT_FOUND, HTTP 404 (profile §6.1, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needSubscription(); !ok {
					return o
				}
				a, sent := r.call("CIC.Subscription", "Unsubscribe", map[string]any{"subscriptionId": r.subID})
				if a.status != http.StatusOK || !a.envOK || a.env.Header.Name != "UnsubscribeResponse" {
					return failed("no UnsubscribeResponse with HTTP 200", sent, a.String())
				}
				if still, la := r.listed(r.subID); still || la.status != http.StatusOK {
					return failed("ListSubscriptions still shows it (or failed)", sent, la.String())
				}
				b, _ := r.call("CIC.Subscription", "Unsubscribe", map[string]any{"subscriptionId": r.subID})
				o := wantError(b, sent+" twice", http.StatusNotFound, "SUBSCRIPTION_NOT_FOUND")
				o.got = a.String() + "; again: " + b.String()
				return o
			}},
		{id: "subscription.account-unlinked", group: "subscription",
			requires: "CIC.Account/Unlink answers UnlinkResponse, HTTP 200; the partner's subscriptions are told AccountUnlinked (subscriptionId, userId, reason); the token is then INVALID_ACCESS_TOKEN, HTTP 401 (profile §4 unlinking, §6.2, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needCallback(); !ok {
					return o
				}
				s, sent := r.subscribe()
				var sp struct {
					SubscriptionID string `json:"subscriptionId"`
				}
				if s.status != http.StatusOK || json.Unmarshal(s.env.Payload, &sp) != nil || sp.SubscriptionID == "" {
					return failed("could not subscribe", sent, s.String())
				}
				access := r.main.access
				a, sent := r.call("CIC.Account", "Unlink", map[string]any{})
				r.main, r.linkErr = nil, errors.New("unlinked by subscription.account-unlinked")
				if a.status != http.StatusOK || !a.envOK || a.env.Header.Name != "UnlinkResponse" {
					return failed("no UnlinkResponse with HTTP 200", sent, a.String())
				}
				var got push
				if !r.poll(pushWait, func() bool {
					for _, p := range r.cb.all() {
						if p.name == "AccountUnlinked" && p.body.SubscriptionID == sp.SubscriptionID {
							got = p
							return true
						}
					}
					return false
				}) {
					return failed("no AccountUnlinked for the subscription within "+pushWait.String(), sent, a.String())
				}
				if got.body.UserID == "" {
					return failed("AccountUnlinked without userId", sent, clip(got.raw, 200))
				}
				after := r.works(access)
				if !after.isError(http.StatusUnauthorized, "INVALID_ACCESS_TOKEN") {
					return failed("the unlinked token: "+after.errorProblem(http.StatusUnauthorized, "INVALID_ACCESS_TOKEN"), sent, after.String())
				}
				return passed(sent, "AccountUnlinked "+clip(got.raw, 200)+"; then the token: "+after.String())
			}},
	}
}

// redact shows only the start of a credential.
func redact(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
