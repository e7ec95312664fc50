package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAnswer bounds what the kit reads of any answer.
const maxAnswer = 4 << 20

// Rate-limit handling: a 429 is retried after its Retry-After, a few times,
// never waiting more than maxRetryAfter at once.
const (
	maxRateRetries = 6
	maxRetryAfter  = 60 * time.Second
)

// retryAfter reads Retry-After (seconds or an HTTP date), default 1 s.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return time.Second
}

// do sends a request built by mk and reads the answer, waiting out 429
// answers as their Retry-After says (the target's rate limit is one of its
// protections; the kit must not trip over it).
func (r *run) do(mk func() (*http.Request, error)) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := mk()
		if err != nil {
			return nil, nil, err
		}
		resp, err := r.hc.Do(req.WithContext(r.ctx))
		if err != nil {
			return nil, nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		if err != nil {
			return resp, body, fmt.Errorf("read answer: %w", err)
		}
		if resp.StatusCode != http.StatusTooManyRequests || attempt >= maxRateRetries {
			return resp, body, nil
		}
		if err := r.sleep(retryAfter(resp.Header)); err != nil {
			return nil, nil, err
		}
	}
}

// answer is a /cic/v1 answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	env    respEnvelope
	envOK  bool
	err    error
}

// code is the answer's errorCode ("" when none).
func (a answer) code() string {
	var p errorPayload
	if a.envOK && json.Unmarshal(a.env.Payload, &p) == nil {
		return p.ErrorCode
	}
	return ""
}

func (a answer) errorPayload() errorPayload {
	var p errorPayload
	json.Unmarshal(a.env.Payload, &p) //nolint:errcheck // zero when not an error
	return p
}

// String words the answer for a check's detail.
func (a answer) String() string {
	if a.err != nil {
		return "no answer: " + a.err.Error()
	}
	s := fmt.Sprintf("HTTP %d", a.status)
	if a.envOK {
		s += " " + a.env.Header.Name
		if c := a.code(); c != "" {
			s += " " + c
		}
	}
	return s + " " + clip(a.raw, 240)
}

// isError reports whether a is the ErrorResponse with code and HTTP status.
func (a answer) isError(status int, code string) bool {
	return a.err == nil && a.status == status && a.envOK && a.env.Header.Name == "ErrorResponse" && a.code() == code
}

// errorProblem says how a differs from the expected ErrorResponse.
func (a answer) errorProblem(status int, code string) string {
	switch {
	case a.err != nil:
		return "no answer"
	case !a.envOK:
		return fmt.Sprintf("the answer is not a JSON envelope (want ErrorResponse %s, HTTP %d)", code, status)
	case a.status != status && a.code() == code:
		return fmt.Sprintf("right errorCode %s but HTTP %d, want %d", code, a.status, status)
	case a.env.Header.Name != "ErrorResponse":
		return fmt.Sprintf("answered %s with HTTP %d, want ErrorResponse %s with HTTP %d", a.env.Header.Name, a.status, code, status)
	default:
		return fmt.Sprintf("errorCode %q with HTTP %d, want %s with HTTP %d", a.code(), a.status, code, status)
	}
}

// newMsgID returns a fresh messageId (1-64 of [A-Za-z0-9_-], §2).
func (r *run) newMsgID() string {
	if r.runID == "" {
		r.runID = randomString(6) // runs at once against one partner never share ids
	}
	return fmt.Sprintf("conf-%s-%d", r.runID, r.msg.Add(1))
}

// envelope builds a request body.
func envelope(ns, name, msgID string, payload any) []byte {
	b, _ := json.Marshal(map[string]any{"header": reqHeader{Namespace: ns, Name: name, MessageID: msgID,
		PayloadVersion: "1", Timestamp: time.Now().UnixMilli()}, "payload": payload}) // plain types
	return b
}

// post sends a body to the service URL with the given bearer token ("" for
// none) and extra headers.
func (r *run) post(token string, body []byte, extra ...string) answer {
	resp, raw, err := r.do(func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, r.base+pathService, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		return req, nil
	})
	return toAnswer(resp, raw, err)
}

func toAnswer(resp *http.Response, raw []byte, err error) answer {
	a := answer{raw: raw, err: err}
	if resp != nil {
		a.status, a.header = resp.StatusCode, resp.Header
	}
	if err == nil && json.Unmarshal(raw, &a.env) == nil && a.env.Header.Name != "" {
		a.envOK = true
	}
	return a
}

// callWith sends one message with a fixed messageId on link l, refreshing
// l's token when it is about to expire or the target says it expired.
func (r *run) callWith(l *link, ns, name, msgID string, payload any) (answer, string) {
	body := envelope(ns, name, msgID, payload)
	sent := fmt.Sprintf("%s/%s %s", ns, name, clip(body, 200))
	if err := r.fresh(l); err != nil {
		return answer{err: err}, sent
	}
	a := r.post(l.access, body)
	if a.code() == "TOKEN_EXPIRED" {
		if err := r.refreshLink(l); err != nil {
			return answer{err: err}, sent
		}
		a = r.post(l.access, body)
	}
	return a, sent
}

// call sends one message on the main link with a new messageId.
func (r *run) call(ns, name string, payload any) (answer, string) {
	return r.callWith(r.main, ns, name, r.newMsgID(), payload)
}

// clientAuth is how the kit authenticates at the token endpoint.
type clientAuth int

const (
	authBasic clientAuth = iota // HTTP Basic (or client_id alone for a public client)
	authPost                    // client_secret_post
)

// tokenRequest posts a form to the token (or revocation) endpoint.
func (r *run) tokenRequest(path string, form url.Values, how clientAuth, secret string) (int, tokenAnswer, []byte, error) {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	basic := how == authBasic && secret != ""
	if !basic {
		f.Set("client_id", r.opts.ClientID)
		if secret != "" {
			f.Set("client_secret", secret)
		}
	}
	resp, raw, err := r.do(func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, r.base+path, strings.NewReader(f.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			// RFC 6749 §2.3.1: both parts form-encoded before Basic.
			req.SetBasicAuth(url.QueryEscape(r.opts.ClientID), url.QueryEscape(secret))
		}
		return req, nil
	})
	if err != nil {
		return 0, tokenAnswer{}, nil, err
	}
	var t tokenAnswer
	json.Unmarshal(raw, &t) //nolint:errcheck // checks look at the fields and the raw text
	return resp.StatusCode, t, raw, nil
}

// link is one account link's tokens.
type link struct {
	access, refresh, scope string
	expiresIn              int
	obtained               time.Time
}

func newLink(t tokenAnswer) *link {
	return &link{access: t.AccessToken, refresh: t.RefreshToken, scope: t.Scope, expiresIn: t.expiresIn(), obtained: time.Now()}
}

// fresh refreshes l when its access token is within a quarter of its life
// (at least 2 s) of expiring.
func (r *run) fresh(l *link) error {
	if l.expiresIn <= 0 {
		return nil
	}
	life := time.Duration(l.expiresIn) * time.Second
	if time.Since(l.obtained) < life-max(life/4, 2*time.Second) {
		return nil
	}
	return r.refreshLink(l)
}

// refreshLink rotates l's tokens with grant_type=refresh_token.
func (r *run) refreshLink(l *link) error {
	status, t, raw, err := r.tokenRequest(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {l.refresh}},
		authBasic, r.opts.ClientSecret)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if status != http.StatusOK || t.AccessToken == "" {
		return fmt.Errorf("refresh: HTTP %d %s", status, tokenText(raw, 200))
	}
	nl := newLink(t)
	if nl.refresh == "" {
		nl.refresh = l.refresh
	}
	*l = *nl
	return nil
}
