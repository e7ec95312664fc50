package cic

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Metadata is the interface metadata document served at
// /.well-known/cic-configuration (profile §7).
type Metadata struct {
	Standard              string              `json:"standard"`
	ServiceURL            string              `json:"serviceUrl"`
	AuthorizationEndpoint string              `json:"authorizationEndpoint"`
	TokenEndpoint         string              `json:"tokenEndpoint"`
	RevocationEndpoint    string              `json:"revocationEndpoint"`
	PayloadVersions       []string            `json:"payloadVersions"`
	Operations            map[string][]string `json:"operations"`
	Notifications         []string            `json:"notifications"`
}

// Notifications the hub sends (profile §6.2).
func notificationNames() []string {
	return []string{"StatusChanged", "OnlineChanged", "DevicesChanged", "AccountUnlinked"}
}

// BaseURL is where partners reach the hub: the configured public URL (the
// relay's address) when set, else the address this request came in on.
func BaseURL(publicURL string, r *http.Request) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	return "https://" + r.Host
}

// MetadataHandler serves the metadata document.
func (h *Handler) MetadataHandler(publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := BaseURL(publicURL, r)
		ops := h.Operations()
		for _, names := range ops {
			slices.Sort(names)
		}
		md := Metadata{
			Standard:              "T/CHEAA 0001.1-2023",
			ServiceURL:            base + "/cic/v1",
			AuthorizationEndpoint: base + "/oauth2/authorize",
			TokenEndpoint:         base + "/oauth2/token",
			RevocationEndpoint:    base + "/oauth2/revoke",
			PayloadVersions:       []string{"1"},
			Operations:            ops,
			Notifications:         notificationNames(),
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(md) //nolint:errcheck // client gone
	})
}
