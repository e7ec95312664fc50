package mdns

import (
	"encoding/json"
	"net/http"
)

// Handler serves the instance table as a JSON array (local API route
// GET /v1/discovered/mdns).
func (b *Browser) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(b.Instances())
	})
}
