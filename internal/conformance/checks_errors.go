package conformance

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
)

// raw sends a body as it is with the main link's token.
func (r *run) raw(body []byte) (answer, string) {
	sent := clip(body, 160)
	if err := r.fresh(r.main); err != nil {
		return answer{err: err}, sent
	}
	return r.post(r.main.access, body), sent
}

// rawEnvelope is a request body with header fields set or left out.
func rawEnvelope(h map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"header": h, "payload": map[string]any{}})
	return b
}

func discoverHeader(msgID string) map[string]any {
	return map[string]any{"namespace": "CIC.Discovery", "name": "Discover", "messageId": msgID,
		"payloadVersion": "1", "timestamp": time.Now().UnixMilli()}
}

// wantBearerChallenge adds the WWW-Authenticate rule to a 401 check.
func wantBearerChallenge(a answer, sent, code string) outcome {
	o := wantError(a, sent, http.StatusUnauthorized, code)
	if o.status == Pass && !strings.HasPrefix(strings.ToLower(a.header.Get("WWW-Authenticate")), "bearer") {
		return failed("no WWW-Authenticate: Bearer challenge", sent, a.String())
	}
	return o
}

// tamper changes a token's signature (the last part of a JWT; the last
// characters otherwise) so it no longer verifies.
func tamper(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	sig := []byte(tok[i:])
	if len(sig) < 4 {
		return tok + "x"
	}
	for k := 0; k < 4; k++ {
		if sig[k] == 'A' {
			sig[k] = 'B'
		} else {
			sig[k] = 'A'
		}
	}
	return tok[:i] + string(sig)
}

func errorChecks() []check {
	envCheck := func(id, requires string, status int, code string, body func(r *run) []byte) check {
		return check{id: id, group: "errors", requires: requires, run: func(r *run) outcome {
			if o, ok := r.needLink(); !ok {
				return o
			}
			a, sent := r.raw(body(r))
			return wantError(a, sent, status, code)
		}}
	}
	return []check{
		{id: "errors.response-envelope", group: "errors",
			requires: "an answer is a JSON envelope, HTTP 200, with the request's namespace, name + \"Response\", payloadVersion \"1\" and a timestamp in ms since the epoch (profile §2; standard §8.1)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				a, sent := r.call("CIC.Discovery", "Discover", map[string]any{})
				if a.status != http.StatusOK || !a.envOK {
					return failed("no envelope with HTTP 200", sent, a.String())
				}
				h := a.env.Header
				var problems []string
				if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != "application/json" {
					problems = append(problems, fmt.Sprintf("Content-Type %q", a.header.Get("Content-Type")))
				}
				if h.Namespace != "CIC.Discovery" || h.Name != "DiscoverResponse" {
					problems = append(problems, fmt.Sprintf("namespace/name %s/%s", h.Namespace, h.Name))
				}
				if h.PayloadVersion != "1" {
					problems = append(problems, fmt.Sprintf("payloadVersion %q", h.PayloadVersion))
				}
				var ts float64
				if json.Unmarshal(h.Timestamp, &ts) != nil {
					problems = append(problems, "timestamp is not a number")
				} else if d := time.Since(time.UnixMilli(int64(ts))); d > 24*time.Hour || d < -24*time.Hour {
					problems = append(problems, fmt.Sprintf("timestamp %.0f is not milliseconds since the epoch near now", ts))
				}
				return verdict(problems, sent, a.String())
			}},
		{id: "errors.message-id-echoed", group: "errors",
			requires: "every answer, success or ErrorResponse, carries the request's messageId (profile §2)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				m1, m2 := r.newMsgID(), r.newMsgID()
				a, _ := r.callWith(r.main, "CIC.Discovery", "Discover", m1, map[string]any{})
				b, _ := r.callWith(r.main, "CIC.Discovery", "ConformanceNoSuchName", m2, map[string]any{})
				sent := "Discover with messageId " + m1 + "; an unknown name with messageId " + m2
				got := fmt.Sprintf("messageIds %q and %q", a.env.Header.MessageID, b.env.Header.MessageID)
				if a.env.Header.MessageID != m1 || b.env.Header.MessageID != m2 {
					return failed("messageId not echoed", sent, got)
				}
				return passed(sent, got)
			}},
		{id: "errors.error-envelope", group: "errors",
			requires: "a failure is an envelope named ErrorResponse with the request's namespace and a payload {errorCode, message} (profile §2; standard §8.2)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				a, sent := r.call("CIC.Discovery", "ConformanceNoSuchName", map[string]any{})
				p := a.errorPayload()
				if !a.envOK || a.env.Header.Name != "ErrorResponse" || a.env.Header.Namespace != "CIC.Discovery" || p.ErrorCode == "" || p.Message == "" {
					return failed("not an ErrorResponse envelope with namespace, errorCode and message", sent, a.String())
				}
				return passed(sent, a.String())
			}},
		envCheck("errors.unknown-name", "an unknown name in a known namespace is UNSUPPORTED_OPERATION, HTTP 400 (profile §2, §3)",
			http.StatusBadRequest, "UNSUPPORTED_OPERATION", func(r *run) []byte {
				return envelope("CIC.Discovery", "ConformanceNoSuchName", r.newMsgID(), map[string]any{})
			}),
		envCheck("errors.unknown-namespace", "an unknown namespace is UNSUPPORTED_OPERATION, HTTP 400 (profile §2, §3)",
			http.StatusBadRequest, "UNSUPPORTED_OPERATION", func(r *run) []byte {
				return envelope("CIC.ConformanceNoSuchNamespace", "Discover", r.newMsgID(), map[string]any{})
			}),
		envCheck("errors.payload-version", "payloadVersion other than \"1\" is UNSUPPORTED_PAYLOAD_VERSION, HTTP 400 (profile §2, §3)",
			http.StatusBadRequest, "UNSUPPORTED_PAYLOAD_VERSION", func(r *run) []byte {
				h := discoverHeader(r.newMsgID())
				h["payloadVersion"] = "2"
				return rawEnvelope(h)
			}),
		envCheck("errors.malformed-json", "a body that is not JSON is INVALID_REQUEST, HTTP 400 (profile §3; standard §7.1)",
			http.StatusBadRequest, "INVALID_REQUEST", func(r *run) []byte {
				return []byte(`{"header": {"namespace": "CIC.Discovery", "name": "Discover",`)
			}),
		envCheck("errors.missing-field", "an envelope without messageId is INVALID_REQUEST, HTTP 400 (profile §2, §3)",
			http.StatusBadRequest, "INVALID_REQUEST", func(r *run) []byte {
				h := discoverHeader("")
				delete(h, "messageId")
				return rawEnvelope(h)
			}),
		envCheck("errors.bad-message-id", "a messageId outside 1-64 characters of [A-Za-z0-9_-] is INVALID_REQUEST, HTTP 400 (profile §2, §3)",
			http.StatusBadRequest, "INVALID_REQUEST", func(r *run) []byte {
				return rawEnvelope(discoverHeader("not valid/" + strings.Repeat("x", 60)))
			}),
		{id: "errors.oversized-body", group: "errors",
			requires: "a body over 256 KiB is refused with INVALID_REQUEST, HTTP 413 (profile §2, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				body := envelope("CIC.Discovery", "Discover", r.newMsgID(), map[string]any{"pad": strings.Repeat("a", maxBody)})
				a, _ := r.raw(body)
				return wantError(a, fmt.Sprintf("a valid Discover envelope padded to %d bytes", len(body)), http.StatusRequestEntityTooLarge, "INVALID_REQUEST")
			}},
		{id: "errors.method-not-post", group: "errors",
			requires: "the service URL takes POST only (standard §7.1): GET is refused with a 4xx (hubagent's docs/protocol.md extension: 405 INVALID_REQUEST)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				resp, raw, err := r.do(func() (*http.Request, error) {
					req, err := http.NewRequest(http.MethodGet, r.base+pathService, nil)
					if err == nil {
						req.Header.Set("Authorization", "Bearer "+r.main.access)
					}
					return req, err
				})
				a := toAnswer(resp, raw, err)
				if a.err != nil || a.status < 400 || a.status > 499 {
					return failed("GET was not refused with a 4xx", "GET "+pathService, a.String())
				}
				return passed("GET "+pathService, a.String())
			}},
		{id: "errors.token-missing", group: "errors",
			requires: "a call without Authorization is INVALID_ACCESS_TOKEN, HTTP 401, with WWW-Authenticate: Bearer (profile §2, §3; RFC 6750 §3)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				body := envelope("CIC.Discovery", "Discover", r.newMsgID(), map[string]any{})
				return wantBearerChallenge(r.post("", body), "Discover without Authorization", "INVALID_ACCESS_TOKEN")
			}},
		{id: "errors.token-malformed", group: "errors",
			requires: "a malformed bearer token is INVALID_ACCESS_TOKEN, HTTP 401, with WWW-Authenticate: Bearer (profile §3; RFC 6750 §3.1)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				body := envelope("CIC.Discovery", "Discover", r.newMsgID(), map[string]any{})
				return wantBearerChallenge(r.post("conformance.not-a.token", body), "Discover with Bearer conformance.not-a.token", "INVALID_ACCESS_TOKEN")
			}},
		{id: "errors.token-bad-signature", group: "errors",
			requires: "an access token whose signature does not verify is INVALID_ACCESS_TOKEN, HTTP 401 (profile §3, §4)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				if err := r.fresh(r.main); err != nil {
					return failed("refresh failed", "", err.Error())
				}
				body := envelope("CIC.Discovery", "Discover", r.newMsgID(), map[string]any{})
				return wantBearerChallenge(r.post(tamper(r.main.access), body), "Discover with the link's access token, its signature altered", "INVALID_ACCESS_TOKEN")
			}},
		{id: "errors.token-in-body", group: "errors",
			requires: "a token in the body is not accepted: INVALID_ACCESS_TOKEN, HTTP 401 (profile §2)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				if err := r.fresh(r.main); err != nil {
					return failed("refresh failed", "", err.Error())
				}
				var m map[string]any
				json.Unmarshal(envelope("CIC.Discovery", "Discover", r.newMsgID(), map[string]any{}), &m) //nolint:errcheck // ours
				m["access_token"] = r.main.access
				body, _ := json.Marshal(m)
				return wantError(r.post("", body), "Discover with access_token in the JSON body, no Authorization", http.StatusUnauthorized, "INVALID_ACCESS_TOKEN")
			}},
		{id: "errors.token-expired", group: "errors",
			requires: "an access token past exp is TOKEN_EXPIRED, HTTP 401, with WWW-Authenticate: Bearer (profile §3)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				wait := time.Until(r.firstExp) + 3*time.Second
				if r.firstExp.IsZero() || wait > r.opts.MaxTokenWait {
					return skipped(fmt.Sprintf("the first access token lives until %s: longer than the kit waits (%s); give the target a short token lifetime to test this",
						r.firstExp.Format(time.RFC3339), r.opts.MaxTokenWait))
				}
				if wait > 0 {
					if err := r.sleep(wait); err != nil {
						return skipped("run cancelled")
					}
				}
				body := envelope("CIC.Discovery", "Discover", r.newMsgID(), map[string]any{})
				return wantBearerChallenge(r.post(r.firstTok, body), "Discover with the first access token, past its expires_in", "TOKEN_EXPIRED")
			}},
	}
}
