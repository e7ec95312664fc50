package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The wire types below are written from the profile (cic-profile.md §2,
// §5, §6) and docs/protocol.md, never taken from the server's packages: the
// kit must be an independent client, so that a misreading shared by both
// sides cannot hide.

// Profile paths [§7.2] (cic-profile.md §1).
const (
	pathAuthorize   = "/oauth2/authorize"
	pathToken       = "/oauth2/token"
	pathRevoke      = "/oauth2/revoke"
	pathASMetadata  = "/.well-known/oauth-authorization-server"
	pathCICMetadata = "/.well-known/cic-configuration"
	pathService     = "/cic/v1"
)

// Scopes of the profile (§4).
const (
	scopeRead    = "devices.read"
	scopeControl = "devices.control"
	scopeSubs    = "subscriptions"
	allScopes    = scopeRead + " " + scopeControl + " " + scopeSubs
)

// maxBody is the profile's body limit (§2).
const maxBody = 256 << 10

// reqHeader is the header of a request envelope (§2).
type reqHeader struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	MessageID      string `json:"messageId"`
	PayloadVersion string `json:"payloadVersion"`
	Timestamp      int64  `json:"timestamp"`
}

// respEnvelope is an answer as it came: the timestamp is kept raw so a
// check can tell a string from a number.
type respEnvelope struct {
	Header struct {
		Namespace      string          `json:"namespace"`
		Name           string          `json:"name"`
		MessageID      string          `json:"messageId"`
		PayloadVersion string          `json:"payloadVersion"`
		Timestamp      json.RawMessage `json:"timestamp"`
	} `json:"header"`
	Payload json.RawMessage `json:"payload"`
}

// errorPayload is an ErrorResponse payload (§2).
type errorPayload struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
	DeviceID  string `json:"deviceId"`
}

// wireDevice is one device of DiscoverResponse (§5.1).
type wireDevice struct {
	DeviceID   string                     `json:"deviceId"`
	Name       *string                    `json:"name"`
	Category   *string                    `json:"category"`
	Online     *bool                      `json:"online"`
	Properties []wireProperty             `json:"properties"`
	State      map[string]json.RawMessage `json:"state"`
	UpdatedAt  json.RawMessage            `json:"updatedAt"`
}

// wireProperty is one property descriptor (§5.1).
type wireProperty struct {
	Name   string            `json:"name"`
	Type   string            `json:"type"`
	Access string            `json:"access"`
	Unit   string            `json:"unit"`
	Min    *float64          `json:"min"`
	Max    *float64          `json:"max"`
	Step   *float64          `json:"step"`
	Values []json.RawMessage `json:"values"`
}

// queryItem is one item of QueryStatusResponse (§5.2).
type queryItem struct {
	DeviceID  string                     `json:"deviceId"`
	Online    *bool                      `json:"online"`
	State     map[string]json.RawMessage `json:"state"`
	UpdatedAt json.RawMessage            `json:"updatedAt"`
	ErrorCode string                     `json:"errorCode"`
}

// controlResult is one item of ControlResponse (§5.3).
type controlResult struct {
	DeviceID  string                     `json:"deviceId"`
	State     map[string]json.RawMessage `json:"state"`
	ErrorCode string                     `json:"errorCode"`
}

// tokenAnswer is an RFC 6749 §5.1 / §5.2 answer of the token endpoint.
type tokenAnswer struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Scope        string          `json:"scope"`
	Error        string          `json:"error"`
}

// expiresIn reads expires_in (a number of seconds; 0 when absent or bad).
func (t tokenAnswer) expiresIn() int {
	var n float64
	if json.Unmarshal(t.ExpiresIn, &n) != nil || n < 0 {
		return 0
	}
	return int(n)
}

// notification is a push the target sent to the kit's callback (§6.2).
type notification struct {
	SubscriptionID string `json:"subscriptionId"`
	Events         []struct {
		DeviceID string                     `json:"deviceId"`
		State    map[string]json.RawMessage `json:"state"`
		Sequence *int64                     `json:"sequence"`
	} `json:"events"`
	Sequence *int64 `json:"sequence"` // DevicesChanged
	UserID   string `json:"userId"`
	Reason   string `json:"reason"`
}

// clip shortens a text for a check's detail.
func clip(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// tokenText words a token endpoint answer for a report without the
// credentials in it: tokens are replaced by their length.
func tokenText(raw []byte, n int) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return clip(raw, n)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if s, ok := m[k].(string); ok {
			m[k] = fmt.Sprintf("[%d characters]", len(s))
		}
	}
	b, _ := json.Marshal(m) // plain values
	return clip(b, n)
}
