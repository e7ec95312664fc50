package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
)

// TestCICEveryErrorCodeThroughHTTP reaches each error code of the profile
// that a partner can cause, over HTTPS against the real binary, checking the
// HTTP status, the ErrorResponse envelope, and that no command reached any
// device. (DEVICE_BUSY and INTERNAL_ERROR need a device that refuses or a
// broken hub; the hub tests cover their mapping.)
func TestCICEveryErrorCodeThroughHTTP(t *testing.T) {
	t.Parallel()
	w := newCICWorld(t, "")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control subscriptions",
		[]string{e2eLampID, e2eMuteID, sensorID, ghostID}, "--config", "hubagent.toml",
		"--callback-host", "cb.partner.example")
	b := linkPartner(t, w.dir, w.ag.api, "Bolt Home", "devices.read", []string{e2eLampID}, "--config", "hubagent.toml")
	expired := staleCopy(t, filepath.Join(w.dir, "hubagent-data"), a.token())

	control := func(id string, props map[string]any) map[string]any {
		return map[string]any{"commands": []any{map[string]any{"deviceId": id, "properties": props}}}
	}
	envelope := func(mut func(h map[string]any)) []byte {
		h := map[string]any{"namespace": "CIC.Discovery", "name": "Discover", "messageId": "m-x", "payloadVersion": "1"}
		mut(h)
		b, _ := json.Marshal(map[string]any{"header": h, "payload": map[string]any{}})
		return b
	}
	for _, tc := range []struct {
		name   string
		do     func() answer
		status int
		code   string
		sends  int // commands that may reach devices
	}{
		{"not JSON", func() answer { return a.raw(a.token(), []byte("hello")) }, 400, "INVALID_REQUEST", 0},
		{"body over 256 KiB", func() answer {
			return a.raw(a.token(), []byte(`{"header":{},"payload":{"x":"`+strings.Repeat("a", 256<<10)+`"}}`))
		}, 413, "INVALID_REQUEST", 0},
		{"messageId missing", func() answer { return a.raw(a.token(), envelope(func(h map[string]any) { delete(h, "messageId") })) }, 400, "INVALID_REQUEST", 0},
		{"unknown payload field", func() answer {
			return a.call("CIC.Control", "Control", map[string]any{"commandz": []any{}})
		}, 400, "INVALID_REQUEST", 0},
		{"too many ids", func() answer {
			return a.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": make([]string, 101)})
		}, 400, "INVALID_REQUEST", 0},
		{"unknown operation", func() answer { return a.call("CIC.Query", "Teleport", map[string]any{}) }, 400, "UNSUPPORTED_OPERATION", 0},
		{"payload version 2", func() answer {
			return a.raw(a.token(), envelope(func(h map[string]any) { h["payloadVersion"] = "2" }))
		}, 400, "UNSUPPORTED_PAYLOAD_VERSION", 0},
		{"no token", func() answer { return a.callAs("", "CIC.Discovery", "Discover", "m-1", map[string]any{}) }, 401, "INVALID_ACCESS_TOKEN", 0},
		{"forged token", func() answer {
			parts := strings.Split(a.token(), ".")
			return a.callAs(parts[0]+"."+parts[1]+".AAAA", "CIC.Discovery", "Discover", "m-1", map[string]any{})
		}, 401, "INVALID_ACCESS_TOKEN", 0},
		{"token in the body only", func() answer {
			return a.raw("", []byte(`{"access_token":"`+a.token()+`","header":{"namespace":"CIC.Discovery","name":"Discover","messageId":"m","payloadVersion":"1"},"payload":{}}`))
		}, 401, "INVALID_ACCESS_TOKEN", 0},
		{"scope missing", func() answer {
			return b.call("CIC.Control", "Control", control(e2eLampID, map[string]any{"power": false}))
		}, 403, "ACCESS_DENIED", 0},
		{"unknown device", func() answer { return a.call("CIC.Control", "Control", control("nope", map[string]any{"power": true})) }, 404, "DEVICE_NOT_FOUND", 0},
		{"unshared device", func() answer {
			return a.call("CIC.Control", "Control", control(hiddenID, map[string]any{"power": true}))
		}, 404, "DEVICE_NOT_FOUND", 0},
		{"unknown property", func() answer {
			return a.call("CIC.Control", "Control", control(e2eLampID, map[string]any{"volume": 3}))
		}, 400, "PROPERTY_NOT_SUPPORTED", 0},
		{"read-only property", func() answer {
			return a.call("CIC.Control", "Control", control(sensorID, map[string]any{"currentTemperature": 30}))
		}, 400, "PROPERTY_READ_ONLY", 0},
		{"out of range", func() answer {
			return a.call("CIC.Control", "Control", control(e2eLampID, map[string]any{"brightness": 150}))
		}, 400, "VALUE_OUT_OF_RANGE", 0},
		{"wrong type", func() answer {
			return a.call("CIC.Control", "Control", control(e2eLampID, map[string]any{"power": "yes"}))
		}, 400, "VALUE_OUT_OF_RANGE", 0},
		{"offline device", func() answer {
			return a.call("CIC.Control", "Control", control(ghostID, map[string]any{"power": true}))
		}, 409, "DEVICE_OFFLINE", 0},
		{"device never confirms", func() answer {
			return a.call("CIC.Control", "Control", control(e2eMuteID, map[string]any{"power": true}))
		}, 504, "DEVICE_TIMEOUT", 1},
		{"unknown subscription", func() answer {
			return a.call("CIC.Subscription", "Unsubscribe", map[string]any{"subscriptionId": "sub_nope"})
		}, 404, "SUBSCRIPTION_NOT_FOUND", 0},
		{"http callback", func() answer {
			return a.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": "http://cb.partner.example/n", "events": []string{"StatusChanged"}})
		}, 400, "INVALID_CALLBACK", 0},
		{"unregistered callback host", func() answer {
			return a.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": "https://evil.example/n", "events": []string{"StatusChanged"}})
		}, 400, "INVALID_CALLBACK", 0},
		{"expired token", func() answer {
			return a.callAs(expired, "CIC.Discovery", "Discover", "m-exp", map[string]any{})
		}, 401, "TOKEN_EXPIRED", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans := tc.do()
			if ans.status != tc.status || ans.code() != tc.code || ans.name != "ErrorResponse" {
				t.Fatalf("got %d %s (%s), want %d %s ErrorResponse\n%s", ans.status, ans.code(), ans.name, tc.status, tc.code, ans.raw)
			}
			if msg, _ := ans.payload["message"].(string); msg == "" || strings.Contains(msg, ".go:") {
				t.Errorf("message %q", msg)
			}
			if tc.status == 401 && !strings.HasPrefix(ans.header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", ans.header.Get("WWW-Authenticate"))
			}
			if got := w.app.takeCommands(); len(got) != tc.sends {
				t.Errorf("%d commands reached devices, want %d: %q", len(got), tc.sends, got)
			}
		})
	}

	// RATE_LIMITED: a burst beyond the partner's budget (default 20/s,
	// bursts of 40) is refused with Retry-After; another partner is
	// unaffected. The burst goes 40 requests at a time, so that it outruns
	// the refill however slowly this machine answers (the race detector,
	// the other end-to-end tests beside it).
	var limited answer
	for round := 0; round < 10 && limited.status == 0; round++ {
		answers := make(chan answer, 40)
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers <- a.call("CIC.Discovery", "Discover", map[string]any{})
			}()
		}
		wg.Wait()
		close(answers)
		for ans := range answers {
			if ans.status == 429 {
				limited = ans
			}
		}
	}
	if limited.code() != "RATE_LIMITED" || limited.header.Get("Retry-After") == "" || limited.name != "ErrorResponse" {
		t.Fatalf("no RATE_LIMITED in bursts of 40: %s", limited.raw)
	}
	if ans := b.call("CIC.Discovery", "Discover", map[string]any{}); ans.status != 200 {
		t.Fatalf("B limited by A's burst: %d", ans.status)
	}
}

// staleCopy is tok as the hub would have issued it an hour ago: its claims
// with iat and exp moved back, signed with the hub's own key from its data
// directory. The hub's verdict on it is the one it gives a token that
// expired on its own, without the test waiting out a token's life.
func staleCopy(t *testing.T, dataDir, tok string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, oauth.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: not PEM", oauth.KeyFileName)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	orig, _, err := jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil {
		t.Fatal(err)
	}
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		t.Fatalf("token without iat: %v", err)
	}
	claims["iat"] = iat.Add(-time.Hour).Unix()
	claims["exp"] = iat.Add(-time.Hour + 4*time.Second).Unix() // this world's token life
	stale := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	stale.Header["kid"] = orig.Header["kid"]
	s, err := stale.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
