package oauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Grant is one user's link with one partner: the scopes and the devices the
// owner shares with it.
type Grant struct {
	ID        string          `json:"grantId"`
	UserID    string          `json:"userId"`
	ClientID  string          `json:"clientId"`
	Scopes    []string        `json:"scopes"`
	ShareNew  bool            `json:"shareNew"`
	Created   time.Time       `json:"created"`
	Revoked   bool            `json:"revoked"`
	Reason    string          `json:"reason,omitempty"`
	UserName  string          `json:"userName,omitempty"`
	Partner   string          `json:"partner,omitempty"`
	Decisions map[string]bool `json:"-"` // device id → exposed, for devices decided on
}

// Exposure is the owner's decision for one grant.
type Exposure struct {
	// Devices maps every device the owner saw to whether it is shared.
	Devices  map[string]bool
	ShareNew bool
}

// ErrGrantRevoked is returned for a grant that has ended.
var ErrGrantRevoked = errors.New("grant revoked")

// upsertGrant records a consent: the user's active grant with the partner is
// updated in place (a re-link keeps one grant per user and partner), else a
// new one is made. It returns the grant id.
func (st *Store) upsertGrant(ctx context.Context, userID, clientID string, scopes []string, e Exposure) (string, error) {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("oauth: save consent: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := st.now().UnixMilli()
	var id string
	err = tx.QueryRowContext(ctx, `SELECT id FROM grants WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL`,
		userID, clientID).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id = newID()
		_, err = tx.ExecContext(ctx, `INSERT INTO grants(id, user_id, client_id, scopes, share_new, created_at, updated_at)
			VALUES(?,?,?,?,?,?,?)`, id, userID, clientID, strings.Join(scopes, " "), e.ShareNew, now, now)
	case err == nil:
		_, err = tx.ExecContext(ctx, `UPDATE grants SET scopes = ?, share_new = ?, updated_at = ? WHERE id = ?`,
			strings.Join(scopes, " "), e.ShareNew, now, id)
	}
	if err != nil {
		return "", fmt.Errorf("oauth: save consent: %w", err)
	}
	if err := writeExposure(ctx, tx, id, e); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("oauth: save consent: %w", err)
	}
	st.changed()
	return id, nil
}

func writeExposure(ctx context.Context, tx *sql.Tx, grantID string, e Exposure) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM grant_devices WHERE grant_id = ?`, grantID); err != nil {
		return fmt.Errorf("oauth: save exposure: %w", err)
	}
	for id, on := range e.Devices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO grant_devices(grant_id, device_id, exposed) VALUES(?,?,?)`,
			grantID, id, on); err != nil {
			return fmt.Errorf("oauth: save exposure: %w", err)
		}
	}
	return nil
}

// SetExposure replaces the owner's device choice for a grant of that user
// (the status page).
func (st *Store) SetExposure(ctx context.Context, userID, grantID string, e Exposure) error {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("oauth: save exposure: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, `UPDATE grants SET share_new = ?, updated_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
		e.ShareNew, st.now().UnixMilli(), grantID, userID)
	if err != nil {
		return fmt.Errorf("oauth: save exposure: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrGrantRevoked
	}
	if err := writeExposure(ctx, tx, grantID, e); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("oauth: save exposure: %w", err)
	}
	st.changed()
	return nil
}

// UserGrants lists a user's active grants with partner names and device
// decisions.
func (st *Store) UserGrants(ctx context.Context, userID string) ([]*Grant, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT g.id, g.user_id, g.client_id, g.scopes, g.share_new, g.created_at, p.name
		FROM grants g JOIN partners p ON p.client_id = g.client_id
		WHERE g.user_id = ? AND g.revoked_at IS NULL AND p.removed_at IS NULL ORDER BY p.name`, userID)
	if err != nil {
		return nil, fmt.Errorf("oauth: list grants: %w", err)
	}
	var out []*Grant
	for rows.Next() {
		var g Grant
		var scopes string
		var created int64
		if err := rows.Scan(&g.ID, &g.UserID, &g.ClientID, &scopes, &g.ShareNew, &created, &g.Partner); err != nil {
			rows.Close()
			return nil, fmt.Errorf("oauth: list grants: %w", err)
		}
		g.Scopes = strings.Fields(scopes)
		g.Created = time.UnixMilli(created).UTC()
		out = append(out, &g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, g := range out {
		if g.Decisions, err = st.decisions(ctx, g.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decisions returns the owner's per-device choices of a grant.
func (st *Store) decisions(ctx context.Context, grantID string) (map[string]bool, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT device_id, exposed FROM grant_devices WHERE grant_id = ?`, grantID)
	if err != nil {
		return nil, fmt.Errorf("oauth: exposure of %s: %w", grantID, err)
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var id string
		var on bool
		if err := rows.Scan(&id, &on); err != nil {
			return nil, err
		}
		m[id] = on
	}
	return m, rows.Err()
}

// RevokeGrant ends one grant: its refresh tokens stop working at once, its
// access tokens at their next use. It returns the grant as it was, and
// ErrGrantRevoked when it had already ended (or never existed).
func (st *Store) RevokeGrant(ctx context.Context, grantID, reason string) (Grant, error) {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return Grant{}, fmt.Errorf("oauth: revoke grant: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	gs, err := revokeGrantsWhere(ctx, tx, st.now(), reason, "id = ?", grantID)
	if err != nil {
		return Grant{}, err
	}
	if len(gs) == 0 {
		return Grant{}, ErrGrantRevoked
	}
	if err := tx.Commit(); err != nil {
		return Grant{}, fmt.Errorf("oauth: revoke grant: %w", err)
	}
	st.changed()
	return gs[0], nil
}

// revokeGrantsWhere revokes the active grants matching cond and deletes
// their codes, refresh tokens and exposure rows (nothing of an ended grant
// can be used again).
func revokeGrantsWhere(ctx context.Context, tx *sql.Tx, now time.Time, reason, cond string, args ...any) ([]Grant, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, user_id, client_id, scopes FROM grants WHERE revoked_at IS NULL AND `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("oauth: revoke: %w", err)
	}
	var gs []Grant
	for rows.Next() {
		var g Grant
		var scopes string
		if err := rows.Scan(&g.ID, &g.UserID, &g.ClientID, &scopes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("oauth: revoke: %w", err)
		}
		g.Scopes = strings.Fields(scopes)
		g.Revoked, g.Reason = true, reason
		gs = append(gs, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("oauth: revoke: %w", err)
	}
	for _, g := range gs {
		if _, err := tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ?, revoke_reason = ? WHERE id = ?`,
			now.UnixMilli(), reason, g.ID); err != nil {
			return nil, fmt.Errorf("oauth: revoke grant %s: %w", g.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE grant_id = ?`, g.ID); err != nil {
			return nil, fmt.Errorf("oauth: revoke grant %s: %w", g.ID, err)
		}
		// Used codes stay (so a replay is still recognised as one); unused
		// ones go.
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_codes WHERE grant_id = ? AND used_at IS NULL`, g.ID); err != nil {
			return nil, fmt.Errorf("oauth: revoke grant %s: %w", g.ID, err)
		}
	}
	return gs, nil
}
