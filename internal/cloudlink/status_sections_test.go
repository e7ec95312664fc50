package cloudlink

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/notify"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/store"
)

func TestStatusSectionsShowConnectionAndDeliveryState(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accounts := oauth.NewStore(st.DB())
	id, _, err := accounts.AddPartner(ctx, oauth.NewPartner{Name: "Acme <Voice>", RedirectURIs: []string{"https://acme.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	st.DB().Exec(`INSERT INTO outbox (subscription_id, client_id, seq, name, payload, created_at) VALUES ('s', ?, 1, 'StatusChanged', '{}', ?)`, id, now-90_000)
	st.DB().Exec(`INSERT INTO partner_delivery (client_id, last_attempt_at, last_result, failures, needs_relink) VALUES (?, ?, 'partner answered HTTP 401', 3, 1)`, id, now)

	html, err := NotificationsSection(func(ctx context.Context) (map[string]notify.Health, error) {
		return notify.PartnerHealth(ctx, st.DB())
	}, accounts).Render(ctx, oauth.StatusContext{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Acme &lt;Voice&gt;", "<td>1</td>", "1m3", "Needs re-link", "HTTP 401"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("notifications section lacks %q:\n%s", want, html)
		}
	}
	since := time.Now().Add(-time.Hour)
	html, err = RemoteAccessSection(func() tunnel.Status {
		return tunnel.Status{State: tunnel.StateConnected, Relay: "relay.example:22", Since: &since, Reconnects: 2}
	}).Render(ctx, oauth.StatusContext{})
	if err != nil || !strings.Contains(string(html), "connected") || !strings.Contains(string(html), "relay.example:22") ||
		!strings.Contains(string(html), "<td>2</td>") {
		t.Fatalf("remote access section: %v\n%s", err, html)
	}
	html, _ = RemoteAccessSection(func() tunnel.Status { return tunnel.Off("tunnel.relay is not set") }).Render(ctx, oauth.StatusContext{})
	if !strings.Contains(string(html), "tunnel.relay is not set") {
		t.Fatalf("off reason missing:\n%s", html)
	}
}
