package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Cookie names. The __Host- prefix makes browsers insist on Secure, Path=/
// and no Domain, so no other host can set or overwrite them.
const (
	sessionCookie = "__Host-hubagent_session"
	csrfCookie    = "__Host-hubagent_csrf"
)

// newSession signs the user in: a fresh random session id (never one the
// browser brought, against fixation), stored hashed.
func (s *Server) newSession(ctx context.Context, w http.ResponseWriter, u *User) error {
	id := newSecret()
	now := s.now()
	// Expired sessions are swept here, the one place sessions are made.
	if _, err := s.st.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, now.UnixMilli()); err != nil {
		return fmt.Errorf("oauth: sweep sessions: %w", err)
	}
	if _, err := s.st.db.ExecContext(ctx, `INSERT INTO sessions(hash, user_id, created_at, expires_at) VALUES(?,?,?,?)`,
		hashSecret(id), u.ID, now.UnixMilli(), now.Add(sessionTTL).UnixMilli()); err != nil {
		return fmt.Errorf("oauth: new session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL / time.Second)})
	return nil
}

// sessionUser returns the signed-in user, or nil.
func (s *Server) sessionUser(r *http.Request) (*User, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, nil
	}
	var u User
	err = s.st.db.QueryRowContext(r.Context(), `SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.hash = ? AND s.expires_at > ?`, hashSecret(c.Value), s.now().UnixMilli()).Scan(&u.ID, &u.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: session: %w", err)
	}
	return &u, nil
}

// endSession signs out.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.st.db.ExecContext(r.Context(), `DELETE FROM sessions WHERE hash = ?`, hashSecret(c.Value)) //nolint:errcheck // best effort; it expires anyway
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// csrfToken returns the token forms carry for this browser: an HMAC of the
// browser's CSRF cookie (set here when missing; SameSite=Strict). A forged
// cross-site POST has neither the cookie nor a way to compute the token.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 128 {
		v = c.Value
	} else {
		v = newSecret()
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", Secure: true, HttpOnly: true,
			SameSite: http.SameSiteStrictMode})
	}
	return s.csrfFor(v)
}

func (s *Server) csrfFor(cookie string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF verifies a posted form's csrf_token against the cookie.
func (s *Server) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return hmac.Equal([]byte(r.PostForm.Get("csrf_token")), []byte(s.csrfFor(c.Value)))
}
