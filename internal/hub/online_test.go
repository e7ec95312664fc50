package hub

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hubagent/hubagent/internal/store"
)

// restartedHub stores the lights ids online, then opens a hub over the
// same database as after a restart, with the devices unconfirmed.
func restartedHub(t *testing.T, ids ...string) (*Hub, *store.Store, *Subscription) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(ctx, Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := h.UpsertDevice(ctx, light(id)); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	s.Close()
	if s, err = store.Open(ctx, path, store.Options{}); err != nil {
		t.Fatal(err)
	}
	if h, err = New(ctx, Options{Store: s}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); s.Close() })
	events := h.Subscribe(16, OnlineChanged)
	h.SetSourceUnconfirmed("test")
	return h, s, events
}

func drain(sub *Subscription) []Event {
	var got []Event
	for len(sub.C) > 0 {
		got = append(got, <-sub.C)
	}
	return got
}

func storedOnline(t *testing.T, h *Hub, s *store.Store) map[string]bool {
	t.Helper()
	ctx := context.Background()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range ds {
		out[d.ID] = d.Online
	}
	return out
}

// A description that comes before its source knows whether the device is
// online (MQTT configs are replayed before the retained availability)
// neither announces nor stores a change of reachability, and keeps the
// device offline to requests; the source's later word is compared with
// what partners were told.
func TestUpsertDeviceUnconfirmedKeepsWhatPartnersWereTold(t *testing.T) {
	ctx := context.Background()
	h, s, events := restartedHub(t, "same", "renamed")
	same := light("same")
	same.Online = true // ignored: the source does not know
	if err := h.UpsertDeviceUnconfirmed(ctx, same); err != nil {
		t.Fatal(err)
	}
	renamed := light("renamed")
	renamed.Name = "Kitchen"
	if err := h.UpsertDeviceUnconfirmed(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	fresh := light("fresh")
	fresh.Online = true
	if err := h.UpsertDeviceUnconfirmed(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"same", "renamed", "fresh"} {
		if d, _ := h.Device(id); d.Online {
			t.Errorf("%s online to requests before its source said so", id)
		}
	}
	if got := drain(events); len(got) != 0 {
		t.Fatalf("announced %+v before the source knew", got)
	}
	if got, want := storedOnline(t, h, s), map[string]bool{"same": true, "renamed": true, "fresh": false}; !maps.Equal(got, want) {
		t.Fatalf("stored online flags %v, want %v (what partners were told)", got, want)
	}
	if d, _ := h.Device("renamed"); d.Name != "Kitchen" {
		t.Errorf("description not updated: %+v", d)
	}

	// The availability comes: the same device confirmed silently, the
	// renamed one really gone offline, the new one announced online.
	h.SetOnline("same", true)
	h.SetOnline("renamed", false)
	h.SetOnline("fresh", true)
	var got []string
	for _, e := range drain(events) {
		got = append(got, e.DeviceID+map[bool]string{true: "=on", false: "=off"}[e.Online])
	}
	if want := []string{"renamed=off", "fresh=on"}; !slices.Equal(got, want) {
		t.Fatalf("announced %v, want %v", got, want)
	}
}

// When the start's grace ends, the devices still unconfirmed and last
// told online are announced offline; confirmed ones and those partners
// already know offline are not.
func TestAnnounceUnconfirmedAnnouncesOnlyDevicesStillUnconfirmed(t *testing.T) {
	h, s, events := restartedHub(t, "confirmed", "vanished", "known-off")
	h.SetOnline("confirmed", true)
	h.SetOnline("known-off", false)
	drain(events)
	if n := h.AnnounceUnconfirmed("test"); n != 1 {
		t.Errorf("AnnounceUnconfirmed = %d, want 1", n)
	}
	got := drain(events)
	if len(got) != 1 || got[0].DeviceID != "vanished" || got[0].Online {
		t.Fatalf("announced %+v, want vanished offline only", got)
	}
	if got, want := storedOnline(t, h, s), map[string]bool{"confirmed": true, "vanished": false, "known-off": false}; !maps.Equal(got, want) {
		t.Fatalf("stored online flags %v, want %v", got, want)
	}
	if n := h.AnnounceUnconfirmed("test"); n != 0 {
		t.Errorf("second AnnounceUnconfirmed = %d, want 0", n)
	}
	if d, _ := h.Device("confirmed"); !d.Online {
		t.Error("the confirmed device went offline")
	}
}
