package oauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is the bcrypt cost of stored passwords: about 0.1 s on a
// desktop and under a second on an ARMv7 gateway; together with the sign-in
// throttle it makes guessing slow without a memory-hungry KDF (the agent
// must stay at tens of MB).
const PasswordCost = 11

// User is a household account that signs in on the hub's pages.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ErrUnknownUser is returned for a user name that does not exist.
var ErrUnknownUser = errors.New("unknown user")

// CheckPasswordPolicy rejects passwords bcrypt cannot take or that are too
// short to resist the throttled guessing.
func CheckPasswordPolicy(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < 8:
		return errors.New("password must be at least 8 characters")
	case len(pw) > 72:
		return errors.New("password must be at most 72 bytes (bcrypt's limit)")
	}
	return nil
}

func validUserName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n/:") {
		return fmt.Errorf("user name %q: want 1-64 characters without spaces, '/' or ':'", name)
	}
	return nil
}

// AddUser creates a household account. cost is the bcrypt cost
// (PasswordCost; tests pass bcrypt.MinCost).
func (st *Store) AddUser(ctx context.Context, name, password string, cost int) (*User, error) {
	if err := validUserName(name); err != nil {
		return nil, err
	}
	if err := CheckPasswordPolicy(password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, fmt.Errorf("oauth: hash password: %w", err)
	}
	u := &User{ID: "u-" + newID()[:16], Name: name}
	now := st.now().UnixMilli()
	_, err = st.db.ExecContext(ctx, `INSERT INTO users(id, name, password_hash, created_at, updated_at) VALUES(?,?,?,?,?)`,
		u.ID, name, string(hash), now, now)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return nil, fmt.Errorf("user %q already exists (use 'hubagent user passwd')", name)
		}
		return nil, fmt.Errorf("oauth: add user: %w", err)
	}
	return u, nil
}

// SetPassword changes a user's password and ends the user's browser
// sessions.
func (st *Store) SetPassword(ctx context.Context, name, password string, cost int) error {
	if err := CheckPasswordPolicy(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fmt.Errorf("oauth: hash password: %w", err)
	}
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("oauth: set password: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var id string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, name).Scan(&id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w %q", ErrUnknownUser, name)
		}
		return fmt.Errorf("oauth: set password: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
		string(hash), st.now().UnixMilli(), id); err != nil {
		return fmt.Errorf("oauth: set password: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
		return fmt.Errorf("oauth: set password: %w", err)
	}
	return tx.Commit()
}

// Users lists the household accounts.
func (st *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT id, name FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("oauth: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Name); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// dummyHash is compared against when the user does not exist, so a failed
// sign-in takes as long for an unknown name as for a wrong password.
const dummyHash = "$2a$11$gLpcKI2qtpXCOb8qIFp2LOFSybidPtyn/8WjWJw1MNmVJmidpgWBS"

// verifyPassword returns the user when name and password match.
func (st *Store) verifyPassword(ctx context.Context, name, password string) (*User, bool, error) {
	var u User
	var hash string
	err := st.db.QueryRowContext(ctx, `SELECT id, name, password_hash FROM users WHERE name = ?`, name).Scan(&u.ID, &u.Name, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("oauth: sign in: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return nil, false, nil
	}
	return &u, true, nil
}
