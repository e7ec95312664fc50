package relay

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hubagent/hubagent/internal/enrollwire"
)

// Refusals of an enrollment. None names another hub.
var (
	ErrHubTaken     = errors.New("this hub id is enrolled with another key: enroll from the hub that holds it, or have the operator run 'hubagent relay remove ID' first")
	ErrKeyInUse     = errors.New("this public key is already enrolled for another hub id")
	ErrProofRefused = errors.New("the proof does not verify with the key on record for this hub")
	ErrRelayFull    = errors.New("no relay of this fleet has a free port")
	ErrStaleLeave   = errors.New("leave request too old or from the future (check the hub's clock)")
)

// Quarantine is how long a removed hub's port stays unassigned: long
// enough for its old session to be gone (relay serve kills it within a
// second or two; sshd's ClientAlive within 45 s otherwise).
const Quarantine = 10 * time.Minute

// leaveSkew is how far a leave request's time may be from the relay's.
const leaveSkew = 5 * time.Minute

// Hub is one enrolled hub.
type Hub struct {
	ID         string    `json:"id"`
	Key        string    `json:"key"` // authorized_keys form, no comment
	Relay      string    `json:"relay"`
	Port       int       `json:"port"`
	PublicName string    `json:"publicName"`
	EnrolledAt time.Time `json:"enrolledAt"`
	// State is filled in by the caller that can see the relay's sockets:
	// "connected", "offline", or "on relay X".
	State string `json:"state,omitempty"`
}

// keyBlob is the registry's form of a key: base64 of its wire encoding,
// exactly what sshd passes to AuthorizedKeysCommand as %k.
func keyBlob(k ssh.PublicKey) string { return base64.StdEncoding.EncodeToString(k.Marshal()) }

// Enroll admits a hub (with a token) or rotates its key (with a proof by
// its current key), assigning a relay and port to a new hub. self is the
// relay whose enrollment service answers.
func (r *Registry) Enroll(ctx context.Context, self string, req *enrollwire.EnrollRequest, key ssh.PublicKey) (*enrollwire.Enrollment, error) {
	var out *enrollwire.Enrollment
	var err error
	// A fleet's relays may pick the same free port at once; the loser's
	// transaction fails on UNIQUE(relay, port) and tries again.
	for attempt := 0; attempt < 8; attempt++ {
		err = r.tx(ctx, func(tx *sql.Tx) error {
			out, err = r.enrollTx(ctx, tx, self, req, key)
			return err
		})
		if !isUnique(err) {
			break
		}
	}
	if isUnique(err) {
		return nil, fmt.Errorf("relay: enrollment kept colliding with others: %w", err)
	}
	return out, err
}

func (r *Registry) enrollTx(ctx context.Context, tx *sql.Tx, self string, req *enrollwire.EnrollRequest, key ssh.PublicKey) (*enrollwire.Enrollment, error) {
	blob := keyBlob(key)
	var cur struct {
		blob, relay string
		port        int
		removed     sql.NullInt64
	}
	var curBlob sql.NullString
	err := tx.QueryRowContext(ctx, r.q(`SELECT key_blob, relay, port, removed_at FROM relay_hubs WHERE id = ?`), req.HubID).
		Scan(&curBlob, &cur.relay, &cur.port, &cur.removed)
	exists := err == nil && !cur.removed.Valid
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("relay: look up hub: %w", err)
	}
	cur.blob = curBlob.String

	var other string
	err = tx.QueryRowContext(ctx, r.q(`SELECT id FROM relay_hubs WHERE key_blob = ?`), blob).Scan(&other)
	if err == nil && other != req.HubID {
		return nil, ErrKeyInUse
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("relay: look up key: %w", err)
	}

	if exists {
		// Rotation: only the holder of the current key may change it.
		raw, _ := base64.StdEncoding.DecodeString(cur.blob)
		old, perr := ssh.ParsePublicKey(raw)
		if perr != nil {
			return nil, fmt.Errorf("relay: key on record for hub %s: %w", req.HubID, perr)
		}
		if req.Proof == "" {
			// Check the token first, so only a token holder learns that
			// the id is taken.
			if req.Token != "" {
				if err := r.redeem(ctx, tx, req.Token, req.HubID); err != nil {
					return nil, err
				}
			}
			return nil, ErrHubTaken
		}
		if err := enrollwire.VerifyProof(old, enrollwire.EnrollMessage(req.HubID, enrollwire.KeyString(key)), req.Proof); err != nil {
			return nil, ErrProofRefused
		}
		if _, err := tx.ExecContext(ctx, r.q(`UPDATE relay_hubs SET key_blob = ?, enrolled_at = ? WHERE id = ?`),
			blob, r.nowMs(), req.HubID); err != nil {
			return nil, fmt.Errorf("relay: rotate key: %w", err)
		}
		if err := r.bump(ctx, tx, cur.relay); err != nil {
			return nil, err
		}
		return r.answer(ctx, tx, req.HubID, cur.relay, cur.port)
	}

	if req.Token == "" {
		return nil, ErrTokenRefused
	}
	if err := r.redeem(ctx, tx, req.Token, req.HubID); err != nil {
		return nil, err
	}
	// A removed hub coming back: its tombstone goes, its old port is free
	// for it again (the old session was its own).
	if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM relay_hubs WHERE id = ?`), req.HubID); err != nil {
		return nil, fmt.Errorf("relay: drop tombstone: %w", err)
	}
	cands, err := r.candidates(ctx, tx, self)
	if err != nil {
		return nil, err
	}
	for _, name := range cands {
		// Bumping the relay's generation first locks its row (PostgreSQL;
		// SQLite's write transaction is exclusive anyway), so concurrent
		// enrollments onto one relay pick ports one after the other
		// instead of colliding on the same lowest free port.
		if err := r.bump(ctx, tx, name); err != nil {
			return nil, err
		}
		info, err := r.relayInfo(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		port, err := r.freePort(ctx, tx, info)
		if err != nil {
			return nil, err
		}
		if port == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO relay_hubs (id, key_blob, relay, port, public_name, enrolled_at)
			VALUES (?, ?, ?, ?, ?, ?)`), req.HubID, blob, name, port, publicName(req.HubID, info.Domain), r.nowMs()); err != nil {
			return nil, fmt.Errorf("relay: save hub: %w", err)
		}
		return r.answer(ctx, tx, req.HubID, name, port)
	}
	return nil, ErrRelayFull
}

func publicName(hubID, domain string) string { return "hub-" + hubID + "." + domain }

// freePort picks the lowest port of the relay's set that no hub holds,
// counting removed hubs still in quarantine, or 0.
func (r *Registry) freePort(ctx context.Context, tx *sql.Tx, info Info) (int, error) {
	if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM relay_hubs WHERE relay = ? AND removed_at IS NOT NULL AND removed_at < ?`),
		info.Name, r.clock().Add(-Quarantine).UnixMilli()); err != nil {
		return 0, fmt.Errorf("relay: expire tombstones: %w", err)
	}
	rows, err := tx.QueryContext(ctx, r.q(`SELECT port FROM relay_hubs WHERE relay = ?`), info.Name)
	if err != nil {
		return 0, fmt.Errorf("relay: ports in use: %w", err)
	}
	defer rows.Close()
	used := map[int]bool{}
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			return 0, err
		}
		used[p] = true
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return info.Ports.first(used), nil
}

func (r *Registry) answer(ctx context.Context, tx *sql.Tx, hubID, relay string, port int) (*enrollwire.Enrollment, error) {
	info, err := r.relayInfo(ctx, tx, relay)
	if err != nil {
		return nil, err
	}
	e := &enrollwire.Enrollment{HubID: hubID, RelayName: info.Name, Relay: info.SSHAddr, User: info.User, HostKey: info.HostKey,
		RemoteListen: "127.0.0.1:" + strconv.Itoa(port), PublicURL: "https://" + publicName(hubID, info.Domain)}
	if err := e.Check(); err != nil {
		return nil, fmt.Errorf("relay: answer for hub %s: %w", hubID, err)
	}
	return e, nil
}

// Remove revokes a hub: its key stops working at once (sshd asks the
// registry at every login), and the relay's serve drops its session and
// its nginx name at the next sync. Its port stays quarantined.
func (r *Registry) Remove(ctx context.Context, hubID string) (Hub, error) {
	var h Hub
	err := r.tx(ctx, func(tx *sql.Tx) error {
		var err error
		h, err = r.hub(ctx, tx, hubID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.q(`UPDATE relay_hubs SET key_blob = NULL, removed_at = ? WHERE id = ?`), r.nowMs(), hubID); err != nil {
			return fmt.Errorf("relay: remove hub %s: %w", hubID, err)
		}
		return r.bump(ctx, tx, h.Relay)
	})
	return h, err
}

// Leave is a hub deregistering itself with a proof by its key.
func (r *Registry) Leave(ctx context.Context, req *enrollwire.LeaveRequest) error {
	at := time.Unix(req.At, 0)
	if d := r.clock().Sub(at); d > leaveSkew || d < -leaveSkew {
		return ErrStaleLeave
	}
	h, err := r.hub(ctx, r.db, req.HubID)
	if errors.Is(err, ErrNoSuchHub) {
		return ErrProofRefused // say nothing about whether the id exists
	}
	if err != nil {
		return err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.Key))
	if err != nil {
		return fmt.Errorf("relay: key on record for hub %s: %w", req.HubID, err)
	}
	if err := enrollwire.VerifyProof(k, enrollwire.LeaveMessage(req.HubID, req.At), req.Proof); err != nil {
		return ErrProofRefused
	}
	_, err = r.Remove(ctx, req.HubID)
	return err
}

type querier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

const hubCols = `id, key_blob, relay, port, public_name, enrolled_at`

func scanHub(sc interface{ Scan(...any) error }) (Hub, error) {
	var h Hub
	var blob string
	var at int64
	if err := sc.Scan(&h.ID, &blob, &h.Relay, &h.Port, &h.PublicName, &at); err != nil {
		return Hub{}, err
	}
	h.EnrolledAt = time.UnixMilli(at).UTC()
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return Hub{}, fmt.Errorf("relay: hub %s: key: %w", h.ID, err)
	}
	k, err := ssh.ParsePublicKey(raw)
	if err != nil {
		return Hub{}, fmt.Errorf("relay: hub %s: key: %w", h.ID, err)
	}
	h.Key = enrollwire.KeyString(k)
	return h, nil
}

func (r *Registry) hub(ctx context.Context, q querier, id string) (Hub, error) {
	h, err := scanHub(q.QueryRowContext(ctx, r.q(`SELECT `+hubCols+` FROM relay_hubs WHERE id = ? AND removed_at IS NULL`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Hub{}, fmt.Errorf("%w %s", ErrNoSuchHub, id)
	}
	return h, err
}

// Hubs lists the enrolled hubs (of one relay when relay is not empty),
// ordered by relay and port.
func (r *Registry) Hubs(ctx context.Context, relay string) ([]Hub, error) {
	query := `SELECT ` + hubCols + ` FROM relay_hubs WHERE removed_at IS NULL`
	var args []any
	if relay != "" {
		query += ` AND relay = ?`
		args = append(args, relay)
	}
	rows, err := r.db.QueryContext(ctx, r.q(query+` ORDER BY relay, port`), args...)
	if err != nil {
		return nil, fmt.Errorf("relay: list hubs: %w", err)
	}
	defer rows.Close()
	out := []Hub{}
	for rows.Next() {
		h, err := scanHub(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// KeyLine is what `relay keys` prints for sshd: the authorized_keys line of
// the hub holding key on this relay, allowed to listen on its own port and
// nothing else; "" when no hub of this relay has that key.
func (r *Registry) KeyLine(ctx context.Context, relay string, key ssh.PublicKey) (string, error) {
	var id string
	var port int
	err := r.db.QueryRowContext(ctx, r.q(`SELECT id, port FROM relay_hubs WHERE key_blob = ? AND relay = ? AND removed_at IS NULL`),
		keyBlob(key), relay).Scan(&id, &port)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("relay: key lookup: %w", err)
	}
	return fmt.Sprintf(`restrict,port-forwarding,permitlisten="127.0.0.1:%d" %s hubagent-%s`, port, enrollwire.KeyString(key), id), nil
}
