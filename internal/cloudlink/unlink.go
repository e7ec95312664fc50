package cloudlink

import (
	"context"
	"database/sql"

	"github.com/hubagent/hubagent/internal/cloudlink/notify"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
)

// Unlinker queues AccountUnlinked for a revoked grant's subscriptions and
// ends them: the running agent's *notify.Notifier, or notify.Offline when
// no agent runs.
type Unlinker interface {
	GrantRevoked(ctx context.Context, grantID, reason string) error
}

// UnlinkGrant is the notification side of a grant's end: AccountUnlinked,
// with the grant's reason, is the last event of each of its subscriptions.
// The agent's revocation hook (oauth.Server.OnRevoke) and a partner removed
// while no agent runs (RemovePartnerOffline) both go through it.
func UnlinkGrant(ctx context.Context, u Unlinker, g oauth.Grant) error {
	reason := g.Reason
	if reason == "" {
		reason = "unlinked"
	}
	return u.GrantRevoked(ctx, g.ID, reason)
}

// RemovePartnerOffline removes a partner while no agent runs: what
// oauth.Server.RemovePartner and the agent's revocation hook do, on the
// database alone. The AccountUnlinked events wait in the outbox for the
// agent's next start. It returns the revoked grants.
func RemovePartnerOffline(ctx context.Context, db *sql.DB, clientID string) ([]oauth.Grant, error) {
	gs, err := oauth.NewStore(db).RemovePartner(ctx, clientID)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if err := UnlinkGrant(ctx, notify.Offline{DB: db}, g); err != nil {
			return gs, err
		}
	}
	return gs, nil
}
