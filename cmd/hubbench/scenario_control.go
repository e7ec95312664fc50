package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// control measures the round trip of a /cic/v1 Control (the agent
// publishes the command, the appliance echoes its new state, the agent
// confirms and answers) against a bare MQTT publish → echo → receive
// through the same appliance code on the same broker. The two alternate
// call by call, so both see the same machine.
func (w *world) control(ctx context.Context) ([]row, error) {
	echoes := make(chan []byte, 16)
	bare, err := connectMQTT(ctx, w.brokerURL, "hubbench-echo", nil)
	if err != nil {
		return nil, err
	}
	defer bare.Disconnect(50)
	if err := waitToken(ctx, bare.Subscribe("hbecho/+", 0, func(_ paho.Client, m paho.Message) {
		select {
		case echoes <- m.Payload():
		default:
		}
	}), "echo subscribe"); err != nil {
		return nil, err
	}
	p := w.partners[0]
	var bareRTT, cicRTT []time.Duration
	var rounds atomic.Int64
	stop := progress(ctx, w.log, "control", w.o.duration, func() string {
		return fmt.Sprintf("%d round trips each", rounds.Load())
	})
	defer stop()
	prefix := "c" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	end := time.Now().Add(w.o.duration)
	for n := 0; time.Now().Before(end); n++ {
		i := n % w.o.devices
		// Bare: the same appliance echo, without the agent.
		t0 := time.Now()
		bare.Publish(fmt.Sprintf("hbecho/%05d/set", i), 0, false, `{"brightness":`+strconv.Itoa(n%100+1)+`,"seq":`+strconv.Itoa(n)+`}`)
		if err := waitEcho(ctx, echoes, n); err != nil {
			return nil, err
		}
		bareRTT = append(bareRTT, time.Since(t0))

		pct := w.fleet.next(i)
		payload := []byte(`{"commands":[{"deviceId":"` + deviceID(i) + `","properties":{"brightness":` + strconv.Itoa(pct) + `}}]}`)
		body := cicBody("CIC.Control", "Control", prefix+strconv.Itoa(n), payload)
		t0 = time.Now()
		status, ans, err := call(ctx, w.hc, w.agent.api, p.token, body)
		d := time.Since(t0)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK || !bytes.Contains(ans, []byte("ControlResponse")) || bytes.Contains(ans, []byte("errorCode")) {
			return nil, fmt.Errorf("control of %s: HTTP %d: %.300s", deviceID(i), status, ans)
		}
		cicRTT = append(cicRTT, d)
		rounds.Add(1)
	}
	stop()
	b50, b99 := percentile(bareRTT, 50), percentile(bareRTT, 99)
	c50, c99 := percentile(cicRTT, 50), percentile(cicRTT, 99)
	note := fmt.Sprintf("%d sequential calls each, one partner, one device at a time; every Control is also audited "+
		"and remembered for idempotency in the database", len(cicRTT))
	r50 := row{Scenario: "control", Figure: "Control round trip p50", Value: c50, Unit: "ms", Note: note}.
		withBaseline("bare MQTT echo p50", b50)
	r99 := row{Scenario: "control", Figure: "Control round trip p99", Value: c99, Unit: "ms"}.
		withBaseline("bare MQTT echo p99", b99)
	return []row{
		r50.withTarget("≤ bare + 1 ms", c50 <= b50+1),
		r99.withTarget("≤ bare + 5 ms", c99 <= b99+5),
	}, nil
}

// waitEcho waits for the echo carrying seq n, dropping stale ones.
func waitEcho(ctx context.Context, echoes <-chan []byte, n int) error {
	timeout := time.After(5 * time.Second)
	for {
		select {
		case b := <-echoes:
			var e struct{ Seq int }
			if json.Unmarshal(b, &e) == nil && e.Seq == n {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("bare echo %d: none within 5s", n)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
