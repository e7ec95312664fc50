package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// defectProxy stands in front of the real agent and rewrites its answers
// to inject one defect a vendor's endpoint might have; with no defect it
// passes everything through.
type defectProxy struct {
	defect string

	mu       sync.Mutex
	rotation map[string]string // refresh token the client holds → the agent's newest
	issued   map[string]bool   // access tokens the agent issued
	lastGood string            // Authorization of the last call the agent served
}

type proxyReq struct {
	body      []byte
	presented string // refresh token the client presented
}

type proxyReqKey struct{}

func newDefectProxy(t *testing.T, api, defect string) *httptest.Server {
	p := &defectProxy{defect: defect, rotation: map[string]string{}, issued: map[string]bool{}}
	target := &url.URL{Scheme: "https", Host: api}
	rp := &httputil.ReverseProxy{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback agent
	rp.Rewrite = func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the agent's metadata then names the proxy
		req := pr.Out
		var info proxyReq
		if req.Body != nil {
			info.body, _ = io.ReadAll(req.Body)
			req.Body.Close()
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case p.defect == "refresh-not-rotated" && req.URL.Path == "/oauth2/token":
			f, _ := url.ParseQuery(string(info.body))
			if f.Get("grant_type") == "refresh_token" {
				info.presented = f.Get("refresh_token")
				if real, ok := p.rotation[info.presented]; ok {
					f.Set("refresh_token", real)
					info.body = []byte(f.Encode())
				}
			}
		case p.defect == "invalid-token-accepted" && req.URL.Path == "/cic/v1":
			tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
			if tok != "" && !p.issued[tok] && p.lastGood != "" {
				req.Header.Set("Authorization", p.lastGood)
			}
		}
		req.Body = io.NopCloser(bytes.NewReader(info.body))
		req.ContentLength = int64(len(info.body))
		pr.Out = req.WithContext(context.WithValue(req.Context(), proxyReqKey{}, &info))
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		info, _ := resp.Request.Context().Value(proxyReqKey{}).(*proxyReq)
		p.mu.Lock()
		body = p.rewrite(resp, info, body)
		p.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewTLSServer(rp)
	t.Cleanup(srv.Close)
	return srv
}

func (p *defectProxy) rewrite(resp *http.Response, info *proxyReq, body []byte) []byte {
	path := resp.Request.URL.Path
	if path == "/oauth2/token" && resp.StatusCode == 200 {
		var t map[string]any
		if json.Unmarshal(body, &t) != nil {
			return body
		}
		if at, _ := t["access_token"].(string); at != "" {
			p.issued[at] = true
		}
		if p.defect == "refresh-not-rotated" && info != nil && info.presented != "" {
			p.rotation[info.presented] = t["refresh_token"].(string)
			t["refresh_token"] = info.presented
			body, _ = json.Marshal(t)
		}
		return body
	}
	if path != "/cic/v1" {
		return body
	}
	var env struct {
		Header  map[string]any `json:"header"`
		Payload map[string]any `json:"payload"`
	}
	if json.Unmarshal(body, &env) != nil {
		return body
	}
	if resp.StatusCode == 200 {
		p.lastGood = resp.Request.Header.Get("Authorization")
	}
	code, _ := env.Payload["errorCode"].(string)
	var req struct {
		Payload struct {
			Commands []struct {
				DeviceID   string         `json:"deviceId"`
				Properties map[string]any `json:"properties"`
			} `json:"commands"`
		} `json:"payload"`
	}
	if info != nil {
		json.Unmarshal(info.body, &req) //nolint:errcheck // not every body is a Control
	}
	fakeResult := func() {
		c := req.Payload.Commands[0]
		resp.StatusCode, resp.Status = 200, "200 OK"
		env.Header["name"] = "ControlResponse"
		env.Payload = map[string]any{"results": []any{map[string]any{"deviceId": c.DeviceID, "state": c.Properties}}}
	}
	switch p.defect {
	case "unknown-device-200":
		if resp.StatusCode == 404 && code == "DEVICE_NOT_FOUND" && len(req.Payload.Commands) == 1 {
			fakeResult()
		}
	case "out-of-range-accepted":
		if code == "VALUE_OUT_OF_RANGE" && len(req.Payload.Commands) == 1 {
			for _, v := range req.Payload.Commands[0].Properties {
				if _, ok := v.(float64); ok {
					fakeResult()
				}
			}
		}
	case "errors-http-200":
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusTooManyRequests {
			resp.StatusCode, resp.Status = 200, "200 OK"
		}
	case "message-id-not-echoed":
		env.Header["messageId"] = "proxy-" + strconv.Itoa(len(body))
	default:
		return body
	}
	out, _ := json.Marshal(env)
	return out
}

// TestConformanceKitFailsExactlyTheInjectedDefects puts a proxy that
// injects one defect at a time in front of the real agent: the kit fails
// exactly the checks concerned and names them; with no defect it passes
// everything (no false failures).
func TestConformanceKitFailsExactlyTheInjectedDefects(t *testing.T) {
	t.Parallel()
	cert, key := callbackPair(t)
	for _, tc := range []struct {
		defect string
		want   []string
	}{
		{"none", nil},
		{"unknown-device-200", []string{"control.unknown-device"}},
		{"refresh-not-rotated", []string{"oauth.refresh-reuse-revokes", "oauth.refresh-rotates"}},
		{"invalid-token-accepted", []string{"errors.token-bad-signature", "errors.token-malformed"}},
		{"message-id-not-echoed", []string{"errors.message-id-echoed"}},
		{"out-of-range-accepted", []string{"control.out-of-range"}},
		{"errors-http-200", []string{"control.limits", "control.offline-device", "control.out-of-range", "control.read-only",
			"control.scope-required", "control.unknown-device", "control.unknown-property", "control.wrong-type",
			"errors.bad-message-id", "errors.malformed-json", "errors.method-not-post", "errors.missing-field",
			"errors.oversized-body", "errors.payload-version", "errors.token-bad-signature", "errors.token-expired",
			"errors.token-in-body", "errors.token-malformed", "errors.token-missing", "errors.unknown-name",
			"errors.unknown-namespace", "oauth.refresh-reuse-revokes", "oauth.revocation", "query.limits-empty",
			"query.limits-over", "subscription.account-unlinked", "subscription.invalid-callback",
			"subscription.unknown-subscription", "subscription.unsubscribe"}},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			// A world of its own: the kits control and watch the same
			// devices, and each run waits out a token's life.
			t.Parallel()
			w := newCICWorld(t, "\n[notify]\nca_file = \""+cert+"\"\n")
			proxy := newDefectProxy(t, w.ag.api, tc.defect)
			cb := freePort(t)
			id, secret := kitPartner(t, w.dir, "Kit "+tc.defect, "--callback-host", "127.0.0.1", "--allow-private-callback",
				"--notify-token-url", "https://"+cb+"/token", "--notify-client-id", "hub", "--notify-client-secret", "push-secret")
			rep, code, stderr := runKit(t, strings.TrimPrefix(proxy.URL, "https://"), id, secret,
				"--callback-listen", cb, "--callback-url", "https://"+cb+"/cic/notify", "--callback-cert", cert, "--callback-key", key)
			failed := rep.with("fail")
			slices.Sort(failed)
			if !slices.Equal(failed, tc.want) || rep.Summary.Skipped != 0 {
				t.Fatalf("failed %v, want %v; %d skipped\ndetails:%s%s", failed, tc.want, rep.Summary.Skipped, rep.details("fail"), rep.details("skip"))
			}
			wantCode := 0
			if len(tc.want) > 0 {
				wantCode = 1
				if !strings.Contains(stderr, strconv.Itoa(len(tc.want))+" of") {
					t.Errorf("stderr %q does not count the failures", stderr)
				}
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d", code, wantCode)
			}
		})
	}
}
