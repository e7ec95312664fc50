package shelly

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// ErrAuthRequired is returned when a device asks for digest authentication
// and no password is configured (drivers.shelly_password).
var ErrAuthRequired = errors.New("auth required: set drivers.shelly_password")

// ErrAuthFailed is returned when the configured password is refused.
var ErrAuthFailed = errors.New("auth failed: drivers.shelly_password was refused")

// maxBody bounds an RPC answer; Shelly.GetStatus of a Pro 4PM is ~3 KiB.
const maxBody = 256 << 10

// client calls one device's RPC methods, answering its digest challenges.
type client struct {
	http     *http.Client
	password string
	// cnonce makes each request's client nonce; nil means newCnonce
	// (tests pin it).
	cnonce func() string

	mu   sync.Mutex
	chal *challenge // last challenge, reused with a growing nonce count
	nc   int
}

// call calls /rpc/<method> and returns the result body: a GET without
// params (the reads: Shelly.GetDeviceInfo, Shelly.GetStatus), which Go's
// HTTP client sends again by itself when the device had just closed the
// kept-alive connection it reused; a POST of params as JSON otherwise.
func (c *client) call(ctx context.Context, addr, method string, params any) ([]byte, error) {
	verb, body := http.MethodGet, []byte(nil)
	if params != nil {
		var err error
		if body, err = jsonMarshal(params); err != nil {
			return nil, err
		}
		verb = http.MethodPost
	}
	uri := "/rpc/" + method
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, verb, "http://"+addr+uri, rd)
		if err != nil {
			return nil, fmt.Errorf("shelly: %w", err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		c.mu.Lock()
		if c.chal != nil && c.password != "" {
			c.nc++
			mk := c.cnonce
			if mk == nil {
				mk = newCnonce
			}
			req.Header.Set("Authorization", c.chal.authorization(User, c.password, verb, uri, c.nc, mk()))
		}
		c.mu.Unlock()
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("shelly: %s: %w", method, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("shelly: %s: %w", method, err)
		}
		if len(data) > maxBody {
			return nil, fmt.Errorf("shelly: %s: answer larger than %d bytes", method, maxBody)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return data, nil
		case resp.StatusCode == http.StatusUnauthorized:
			if c.password == "" {
				return nil, ErrAuthRequired
			}
			if attempt > 0 {
				return nil, ErrAuthFailed
			}
			ch, err := parseChallenge(resp.Header.Get("WWW-Authenticate"))
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			c.chal, c.nc = &ch, 0
			c.mu.Unlock()
			continue // once, with the new challenge
		default:
			if rpcErr := ParseRPCError(data); rpcErr != nil {
				return nil, fmt.Errorf("shelly: %s: %w", method, rpcErr)
			}
			return nil, fmt.Errorf("shelly: %s: HTTP %d", method, resp.StatusCode)
		}
	}
}
