package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hubagent/hubagent/internal/enrollwire"
)

// Info describes one relay of the fleet as its `relay serve` announces it:
// where hubs reach its sshd, which key that sshd presents, the domain its
// nginx serves hubs under and the ports it hands out.
type Info struct {
	Name    string
	SSHAddr string // host:port hubs dial
	User    string // the login user of hubs on this relay's sshd
	HostKey string // sshd's host key, authorized_keys format
	Domain  string // hubs are served as hub-<id>.<Domain>
	Ports   Ports
}

// Liveness: a relay that has not announced itself for this long gets no
// new hubs (its serve heartbeats every HeartbeatInterval).
const (
	HeartbeatInterval = 15 * time.Second
	relayStale        = 4 * HeartbeatInterval
)

var (
	nameRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	domainRe = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ValidName says whether s can name a relay.
func ValidName(s string) bool { return nameRe.MatchString(s) }

// Check validates the relay's description.
func (i Info) Check() error {
	if !ValidName(i.Name) {
		return fmt.Errorf("relay name %q: want lowercase letters, digits and dashes, at most 63", i.Name)
	}
	probe := enrollwire.Enrollment{HubID: "0000000000000000", RelayName: i.Name, Relay: i.SSHAddr, User: i.User,
		HostKey: i.HostKey, RemoteListen: "127.0.0.1:1024", PublicURL: "https://hub-0000000000000000." + i.Domain}
	if i.Domain == "" || len(i.Domain) > 200 || !domainRe.MatchString(i.Domain) {
		return fmt.Errorf("relay domain %q is not a DNS name", i.Domain)
	}
	if err := probe.Check(); err != nil {
		return fmt.Errorf("relay %s: %w", i.Name, err)
	}
	if i.Ports.String() == "" {
		return errors.New("relay: no ports")
	}
	return nil
}

// Announce records (or refreshes) this relay in the registry; the fleet's
// enrollment services assign hubs only to relays announced recently.
func (r *Registry) Announce(ctx context.Context, i Info) error {
	if err := i.Check(); err != nil {
		return err
	}
	_, err := r.db.ExecContext(ctx, r.q(`INSERT INTO relay_relays (name, ssh_addr, ssh_user, host_key, domain, ports, gen, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?)
		ON CONFLICT (name) DO UPDATE SET ssh_addr = excluded.ssh_addr, ssh_user = excluded.ssh_user,
			host_key = excluded.host_key, domain = excluded.domain, ports = excluded.ports, seen_at = excluded.seen_at`),
		i.Name, i.SSHAddr, i.User, i.HostKey, i.Domain, i.Ports.String(), r.nowMs())
	if err != nil {
		return fmt.Errorf("relay: announce %s: %w", i.Name, err)
	}
	return nil
}

// Gen is the relay's change counter: it moves whenever a hub of that relay
// is added, re-keyed or removed.
func (r *Registry) Gen(ctx context.Context, name string) (int64, error) {
	var g int64
	err := r.db.QueryRowContext(ctx, r.q(`SELECT gen FROM relay_relays WHERE name = ?`), name).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("relay: gen %s: %w", name, err)
	}
	return g, nil
}

func (r *Registry) bump(ctx context.Context, tx *sql.Tx, relay string) error {
	if _, err := tx.ExecContext(ctx, r.q(`UPDATE relay_relays SET gen = gen + 1 WHERE name = ?`), relay); err != nil {
		return fmt.Errorf("relay: bump %s: %w", relay, err)
	}
	return nil
}

func (r *Registry) relayInfo(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (Info, error) {
	var i Info
	var ports string
	err := q.QueryRowContext(ctx, r.q(`SELECT name, ssh_addr, ssh_user, host_key, domain, ports FROM relay_relays WHERE name = ?`), name).
		Scan(&i.Name, &i.SSHAddr, &i.User, &i.HostKey, &i.Domain, &ports)
	if err != nil {
		return Info{}, fmt.Errorf("relay: relay %s: %w", name, err)
	}
	i.Ports, err = ParsePorts(ports)
	return i, err
}

// candidates lists the live relays, fewest hubs first, self first among
// equals: hubs spread over the fleet as they enroll.
func (r *Registry) candidates(ctx context.Context, tx *sql.Tx, self string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, r.q(`SELECT r.name, COUNT(h.id) FROM relay_relays r
		LEFT JOIN relay_hubs h ON h.relay = r.name AND h.removed_at IS NULL
		WHERE r.seen_at > ? OR r.name = ?
		GROUP BY r.name ORDER BY COUNT(h.id), r.name`), r.nowMs()-relayStale.Milliseconds(), self)
	if err != nil {
		return nil, fmt.Errorf("relay: list relays: %w", err)
	}
	defer rows.Close()
	type cand struct {
		name string
		n    int
	}
	var cs []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.name, &c.n); err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(cs))
	for i, c := range cs {
		if c.name == self && i > 0 && cs[0].n == c.n {
			out = append([]string{self}, out...)
			continue
		}
		out = append(out, c.name)
	}
	return out, nil
}
