package cic

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkQueryStatusHandler is one QueryStatus of ten devices through
// the handler, without HTTP or TLS: what the interface itself costs per
// call (hubbench's query row measures it over real HTTPS).
func BenchmarkQueryStatusHandler(b *testing.B) {
	e := newCICEnv(b)
	var ids bytes.Buffer
	for i := range 10 {
		if i > 0 {
			ids.WriteByte(',')
		}
		fmt.Fprintf(&ids, `"%s"`, []string{"lamp", "hidden", "missing"}[i%3])
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n++
		body := `{"header":{"namespace":"CIC.Query","name":"QueryStatus","messageId":"q-` + strconv.Itoa(n) +
			`","payloadVersion":"1","timestamp":1},"payload":{"deviceIds":[` + ids.String() + `]}}`
		r := httptest.NewRequest("POST", "/cic/v1", bytes.NewReader([]byte(body)))
		r.Header.Set("Authorization", "Bearer g1")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body)
		}
	}
}
