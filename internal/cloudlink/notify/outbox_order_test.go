package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// TestWindowOfManyDevicesArrivesInOrder: one state batch for more devices
// than one INSERT carries, for two subscriptions, reaches each in sequence
// order with every device's value once.
func TestWindowOfManyDevicesArrivesInOrder(t *testing.T) {
	p := newPartner(t)
	e := newEnv(t, "", fixedPartners{"A": partnerA(p)}, p.caFile, 0)
	ctx := context.Background()
	const devices = 3*insertChunk + 5
	for i := range devices {
		e.hub.UpsertDevice(ctx, lamp(fmt.Sprintf("m%03d", i)))
	}
	subA := e.subscribe(t, callerA, p.url("/notify"), EventStatusChanged)
	subB := e.subscribe(t, callerA, p.url("/notify")+"?second", EventStatusChanged)
	batch := make([]store.Change, devices)
	for i := range batch {
		batch[i] = store.Change{DeviceID: fmt.Sprintf("m%03d", i), Property: "brightness", Value: device.Int(int64(i)), At: time.Now()}
	}
	e.n.publish(batch)
	type got struct {
		seqs []int
		ids  []string
	}
	var by map[string]*got
	testutil.Eventually(t, 20*time.Second, "every event at both subscriptions", func() bool {
		by = map[string]*got{subA: {}, subB: {}}
		n := 0
		for _, r := range p.got() {
			g := by[r.Payload["subscriptionId"].(string)]
			for _, ev := range r.Payload["events"].([]any) {
				ev := ev.(map[string]any)
				g.seqs = append(g.seqs, int(ev["sequence"].(float64)))
				g.ids = append(g.ids, ev["deviceId"].(string))
				if ev["state"].(map[string]any)["brightness"] != float64(len(g.ids)-1) {
					t.Fatalf("event %v: brightness of another device", ev)
				}
				n++
			}
		}
		return n >= 2*devices
	})
	for sub, g := range by {
		for i := range devices {
			if g.seqs[i] != i+1 || g.ids[i] != fmt.Sprintf("m%03d", i) {
				t.Fatalf("subscription %s, event %d: sequence %d for %s", sub, i, g.seqs[i], g.ids[i])
			}
		}
	}
}
