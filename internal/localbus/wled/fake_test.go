package wled_test

import (
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"
)

// fakeWLED answers like a WLED controller's JSON API (kno.wled.ge/interfaces/
// json-api): GET /json/info, GET /json/state, POST /json/state answering
// {"success":true} (or the full state when the body asks "v":true).
type fakeWLED struct {
	mu      sync.Mutex
	mac     string
	name    string
	on      bool
	bri     int
	col     [3]int
	garbage bool          // answer garbage JSON
	hang    time.Duration // stall every answer this long
	posts   int
}

func newFakeWLED(mac, name string) *fakeWLED {
	return &fakeWLED{mac: mac, name: name, on: true, bri: 128, col: [3]int{255, 160, 0}}
}

func (f *fakeWLED) state() map[string]any {
	return map[string]any{
		"on": f.on, "bri": f.bri, "transition": 7, "ps": -1, "pl": -1,
		"nl":   map[string]any{"on": false, "dur": 60, "mode": 1, "tbri": 0, "rem": -1},
		"udpn": map[string]any{"send": false, "recv": true},
		"lor":  0, "mainseg": 0,
		"seg": []map[string]any{{
			"id": 0, "start": 0, "stop": 30, "len": 30, "grp": 1, "spc": 0, "of": 0, "on": true, "frz": false,
			"bri": 255, "cct": 127, "col": [][]int{f.col[:], {0, 0, 0}, {0, 0, 0}},
			"fx": 0, "sx": 128, "ix": 128, "pal": 0, "sel": true, "rev": false, "mi": false,
		}},
	}
}

func (f *fakeWLED) info(ip string) map[string]any {
	return map[string]any{
		"ver": "0.14.4", "vid": 2405180, "leds": map[string]any{"count": 30, "pwr": 0, "fps": 42, "maxpwr": 850, "maxseg": 32},
		"str": false, "name": f.name, "udpport": 21324, "live": false, "fxcount": 187, "palcount": 71,
		"wifi": map[string]any{"bssid": "00:00:00:00:00:00", "rssi": -62, "signal": 76, "channel": 6},
		"arch": "esp32", "core": "v3.3.6-16-gcc5440f6a2", "freeheap": 198000, "uptime": 1234,
		"opt": 79, "brand": "WLED", "product": "FOSS", "mac": f.mac, "ip": ip,
	}
}

func (f *fakeWLED) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hang, garbage := f.hang, f.garbage
	f.mu.Unlock()
	if hang > 0 {
		select {
		case <-time.After(hang):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if garbage {
		_, _ = w.Write([]byte(`{"on":tru` + "\x00\xff<html>"))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/json/info":
		host, _, _ := net.SplitHostPort(r.Host)
		_ = json.NewEncoder(w).Encode(f.info(host))
	case r.Method == http.MethodGet && r.URL.Path == "/json/state":
		_ = json.NewEncoder(w).Encode(f.state())
	case r.Method == http.MethodPost && r.URL.Path == "/json/state":
		var in struct {
			On  *bool `json:"on"`
			Bri *int  `json:"bri"`
			V   bool  `json:"v"`
			Seg []struct {
				ID  int     `json:"id"`
				Col [][]int `json:"col"`
			} `json:"seg"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":9}`))
			return
		}
		f.posts++
		if in.On != nil {
			f.on = *in.On
		}
		if in.Bri != nil {
			f.bri = max(0, min(255, *in.Bri))
		}
		if len(in.Seg) > 0 && len(in.Seg[0].Col) > 0 && len(in.Seg[0].Col[0]) >= 3 {
			copy(f.col[:], in.Seg[0].Col[0][:3])
		}
		if in.V {
			_ = json.NewEncoder(w).Encode(f.state())
			return
		}
		_, _ = w.Write([]byte(`{"success":true}`))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("Not Found"))
	}
}

func (f *fakeWLED) set(fn func(f *fakeWLED)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// serve answers on ln until stop.
func (f *fakeWLED) serve(ln net.Listener) (stop func()) {
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { srv.Close() }
}
