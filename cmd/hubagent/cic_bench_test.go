package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/device"
)

// benchWorld is a cicWorld with six more switches (ten exposed devices in
// all) and a partner linked with every scope and no effective rate limit.
func benchWorld(b *testing.B) (*cicWorld, *partnerCloud, []string) {
	w := newCICWorldAPI(b, "command_timeout = \"5s\"\nrate_limit = 1000000\nrate_burst = 1000000\n", "")
	ids := []string{e2eLampID, e2eMuteID, sensorID, ghostID}
	for i := 0; i < 6; i++ {
		topic := fmt.Sprintf("homeassistant/switch/bench%d/config", i)
		cfg := fmt.Sprintf(`{"name":"Plug %d","command_topic":"bench/%d/set","state_topic":"bench/%d/state","unique_id":"bench-plug-%d"}`, i, i, i, i)
		w.app.publish(b, topic, cfg)
		w.app.publish(b, fmt.Sprintf("bench/%d/state", i), "ON")
	}
	pollDevices(b, w.dir, 10*time.Second, "ten more devices", func(ds map[string]device.Device) bool { return len(ds) == 11 })
	for id := range listDevices(b, w.dir, "--config", "hubagent.toml") {
		if strings.Contains(id, "bench-plug") {
			ids = append(ids, id)
		}
	}
	if len(ids) != 10 {
		b.Fatalf("bench devices: %v", ids)
	}
	p := linkPartner(b, w.dir, w.ag.api, "Bench", "devices.read devices.control", ids, "--config", "hubagent.toml")
	p.hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return w, p, ids
}

// BenchmarkQueryStatus measures QueryStatus of 10 devices through the real
// agent over HTTPS, the JWT checked on every call, from 8 concurrent
// clients; the baseline is GET /healthz over the same client in the same
// run, so the ratio is what the interface costs on top of HTTPS itself.
func BenchmarkQueryStatus(b *testing.B) {
	_, p, ids := benchWorld(b)
	tok := p.token()
	idsJSON, _ := json.Marshal(ids)
	tmpl := `{"header":{"namespace":"CIC.Query","name":"QueryStatus","messageId":"q-%d","payloadVersion":"1"},"payload":{"deviceIds":` +
		string(idsJSON) + `}}`
	n := max(b.N, 2000)
	rate := func(do func() int) float64 {
		var left atomic.Int64
		left.Store(int64(n))
		var bad atomic.Int64
		start := time.Now()
		done := make(chan struct{})
		for g := 0; g < 8; g++ {
			go func() {
				defer func() { done <- struct{}{} }()
				for left.Add(-1) >= 0 {
					if do() != 200 {
						bad.Add(1)
					}
				}
			}()
		}
		for g := 0; g < 8; g++ {
			<-done
		}
		if bad.Load() > 0 {
			b.Fatalf("%d failed requests", bad.Load())
		}
		return float64(n) / time.Since(start).Seconds()
	}
	healthz := func() int {
		resp, err := p.hc.Get("https://" + p.api + "/healthz")
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
		resp.Body.Close()
		return resp.StatusCode
	}
	var msg atomic.Int64
	query := func() int {
		// A fresh messageId per call: a retried id would be answered from
		// the idempotency window without doing the work.
		req, _ := http.NewRequest("POST", "https://"+p.api+"/cic/v1", strings.NewReader(fmt.Sprintf(tmpl, msg.Add(1))))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := p.hc.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// Warm up: TLS sessions for all 8 clients, caches, the Go scheduler.
	rate(healthz)
	rate(query)
	b.ResetTimer()
	health, queries := rate(healthz), rate(query)
	b.StopTimer()
	b.ReportMetric(queries, "querystatus-req/s")
	b.ReportMetric(health, "healthz-req/s")
	b.ReportMetric(queries/health, "ratio")
}

// BenchmarkControlRoundTrip measures a Control of the echoing lamp through
// /cic/v1 until the device confirms, against a bare MQTT round trip (publish,
// the same appliance client echoes, receive) on the same broker in the same
// run; it reports both p50/p99 and what the agent adds.
func BenchmarkControlRoundTrip(b *testing.B) {
	w, p, _ := benchWorld(b)
	n := max(b.N, 300)
	// Bare baseline: ping/pong through the same broker and appliance client.
	pong := make(chan struct{}, 1)
	w.app.c.Subscribe("bench/ping", 0, func(c paho.Client, m paho.Message) { c.Publish("bench/pong", 0, false, m.Payload()) }).Wait()
	probe := paho.NewClient(paho.NewClientOptions().AddBroker(w.broker.URL()).SetClientID("bench-probe"))
	if tok := probe.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer probe.Disconnect(50)
	probe.Subscribe("bench/pong", 0, func(paho.Client, paho.Message) { pong <- struct{}{} }).Wait()
	bare := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		probe.Publish("bench/ping", 0, false, "x")
		select {
		case <-pong:
		case <-time.After(5 * time.Second):
			b.Fatal("no pong")
		}
		bare = append(bare, time.Since(start))
	}
	b.ResetTimer()
	agent := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		ans := p.call("CIC.Control", "Control", map[string]any{"commands": []any{
			map[string]any{"deviceId": e2eLampID, "properties": map[string]any{"brightness": 10 + i%90}}}})
		if ans.status != 200 || ans.payload["results"].([]any)[0].(map[string]any)["errorCode"] != nil {
			b.Fatalf("Control: %d %s", ans.status, ans.raw)
		}
		agent = append(agent, time.Since(start))
	}
	b.StopTimer()
	w.app.takeCommands()
	p50b, p99b := pct(bare, 50), pct(bare, 99)
	p50a, p99a := pct(agent, 50), pct(agent, 99)
	b.ReportMetric(ms(p50a), "control-p50-ms")
	b.ReportMetric(ms(p99a), "control-p99-ms")
	b.ReportMetric(ms(p50b), "bare-mqtt-p50-ms")
	b.ReportMetric(ms(p99b), "bare-mqtt-p99-ms")
	b.ReportMetric(ms(p50a-p50b), "added-p50-ms")
	b.ReportMetric(ms(p99a-p99b), "added-p99-ms")
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
