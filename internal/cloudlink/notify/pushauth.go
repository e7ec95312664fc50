package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errRelink marks a partner whose token endpoint refuses the hub's
// credentials (invalid_client, invalid_grant, unauthorized_client): retrying
// will not help, the installer must re-register it. It shows as "needs
// re-link" instead of failing silently.
var errRelink = errors.New("partner refuses the hub's credentials: needs re-link")

// maxTokenAnswer bounds what the hub reads of a token endpoint's answer.
const maxTokenAnswer = 64 << 10

// tokenEarly is how long before its expiry a token is fetched again, so a
// push never carries one that expires on the way.
const tokenEarly = 10 * time.Second

// pushAuth authenticates pushes to one partner: a bearer token from the
// partner's own token endpoint (client-credentials grant, RFC 6749 §4.4,
// cached until it expires or the partner answers 401), or an HMAC
// signature of the body.
type pushAuth struct {
	p  Partner
	hc *http.Client

	fetch sync.Mutex // one token request at a time
	mu    sync.Mutex
	tok   pushToken
}

// pushToken is a cached access token; a zero expiry never expires.
type pushToken struct {
	header string // the Authorization header value
	expiry time.Time
}

func newPushAuth(p Partner, hc *http.Client) *pushAuth { return &pushAuth{p: p, hc: hc} }

func (a *pushAuth) canRefresh() bool { return a.p.TokenURL != "" }

// invalidate drops the cached token; the next push fetches a new one.
func (a *pushAuth) invalidate() {
	a.mu.Lock()
	a.tok = pushToken{}
	a.mu.Unlock()
}

// apply adds the push's authentication to req.
func (a *pushAuth) apply(ctx context.Context, req *http.Request, body []byte) error {
	switch {
	case a.p.TokenURL != "":
		h, err := a.header(ctx)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", h)
	case a.p.HMACSecret != "":
		req.Header.Set("X-CIC-Signature", hmacSignature(a.p.HMACSecret, body))
	}
	return nil
}

// header returns the cached token's Authorization value, fetching one
// when there is none or it is about to expire.
func (a *pushAuth) header(ctx context.Context) (string, error) {
	valid := func() (string, bool) {
		a.mu.Lock()
		defer a.mu.Unlock()
		t := a.tok
		return t.header, t.header != "" && (t.expiry.IsZero() || time.Until(t.expiry) > tokenEarly)
	}
	if h, ok := valid(); ok {
		return h, nil
	}
	a.fetch.Lock()
	defer a.fetch.Unlock()
	if h, ok := valid(); ok { // fetched while this push waited
		return h, nil
	}
	t, err := a.request(ctx)
	if err != nil {
		return "", fmt.Errorf("notify: token endpoint %s: %w", a.p.TokenURL, err)
	}
	a.mu.Lock()
	a.tok = t
	a.mu.Unlock()
	return t.header, nil
}

// tokenAnswer is a token endpoint's answer, success (RFC 6749 §5.1) or
// error (§5.2); expires_in may come as a number or a string.
type tokenAnswer struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Error       string          `json:"error"`
}

// request runs the client-credentials grant. The endpoint is reached
// through the same guarded client as the callback: it is partner-supplied
// too. Client id and secret go in HTTP Basic, form-encoded (§2.3.1).
func (a *pushAuth) request(ctx context.Context) (pushToken, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return pushToken{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.p.NotifyClientID), url.QueryEscape(a.p.NotifyClientSecret))
	resp, err := a.hc.Do(req)
	if err != nil {
		return pushToken{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer+1))
	if err != nil {
		return pushToken{}, fmt.Errorf("reading the answer: %w", err)
	}
	if len(raw) > maxTokenAnswer {
		return pushToken{}, fmt.Errorf("answer longer than %d bytes", maxTokenAnswer)
	}
	ans, perr := parseTokenAnswer(resp.Header.Get("Content-Type"), raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		switch ans.Error {
		case "invalid_client", "invalid_grant", "unauthorized_client":
			return pushToken{}, fmt.Errorf("%s: %w", ans.Error, errRelink)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return pushToken{}, fmt.Errorf("HTTP 401: %w", errRelink)
		}
		if ans.Error != "" {
			return pushToken{}, fmt.Errorf("HTTP %d: %s", resp.StatusCode, ans.Error)
		}
		return pushToken{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if perr != nil {
		return pushToken{}, fmt.Errorf("answer: %w", perr)
	}
	if ans.AccessToken == "" {
		return pushToken{}, errors.New("answer has no access_token")
	}
	secs, err := expiresIn(ans.ExpiresIn)
	if err != nil {
		return pushToken{}, err
	}
	t := pushToken{header: tokenType(ans.TokenType) + " " + ans.AccessToken}
	if secs != 0 {
		t.expiry = time.Now().Add(time.Duration(secs) * time.Second)
	}
	return t, nil
}

// parseTokenAnswer reads JSON, or a form for the endpoints that answer
// with one (text/plain or application/x-www-form-urlencoded).
func parseTokenAnswer(contentType string, raw []byte) (tokenAnswer, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		v, err := url.ParseQuery(string(raw))
		if err != nil {
			return tokenAnswer{}, err
		}
		ans := tokenAnswer{AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"), Error: v.Get("error")}
		if e, _ := strconv.Atoi(v.Get("expires_in")); e != 0 {
			ans.ExpiresIn = json.RawMessage(strconv.Itoa(e))
		}
		return ans, nil
	}
	var ans tokenAnswer
	err := json.Unmarshal(raw, &ans)
	return ans, err
}

// expiresIn reads expires_in, a number or a numeric string (0: absent, the
// token is kept until a push is refused); capped at 2^31-1 seconds.
func expiresIn(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("expires_in: %w", err)
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("expires_in %s: not a whole number of seconds", n)
	}
	return min(i, math.MaxInt32), nil
}

// tokenType is the scheme for the Authorization header, with the
// capitalisation servers expect for the common ones (RFC 6750 uses
// "Bearer"; an answer without a type means a bearer token).
func tokenType(t string) string {
	switch strings.ToLower(t) {
	case "", "bearer":
		return "Bearer"
	case "mac":
		return "MAC"
	case "basic":
		return "Basic"
	}
	return t
}
