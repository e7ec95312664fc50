package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// queryClients is how many partner requests are in flight at once.
const queryClients = 8

// query measures QueryStatus of 10 devices per call (JWT checked every
// call, the rate limit raised out of the way) from queryClients
// concurrent clients spread over the partners, against GET /healthz over
// the same TLS client in alternating slices.
func (w *world) query(ctx context.Context) ([]row, error) {
	var okN, failN atomic.Int64
	// The phase name is read by the progress goroutine.
	var label atomic.Value
	label.Store("healthz")
	stop := progress(ctx, w.log, "query", w.o.duration, func() string {
		return fmt.Sprintf("%s phase, %d answers, %d failed", label.Load(), okN.Load(), failN.Load())
	})
	defer stop()
	slice := w.o.duration / 4
	var q, h phaseCount
	var perSlice []string
	for range 2 {
		label.Store("healthz")
		c, err := w.queryPhase(ctx, false, slice, &okN, &failN)
		if err != nil {
			return nil, err
		}
		h = h.add(c)
		label.Store("QueryStatus")
		if c, err = w.queryPhase(ctx, true, slice, &okN, &failN); err != nil {
			return nil, err
		}
		q = q.add(c)
		perSlice = append(perSlice, fmt.Sprintf("%.0f/s", c.rate()))
	}
	stop()
	qRate, hRate := q.rate(), h.rate()
	r := row{Scenario: "query", Figure: "QueryStatus (10 devices) req/s", Value: qRate, Unit: "/s",
		Note: fmt.Sprintf("%d clients over %d partners, keep-alive TLS; %d failed answers; QueryStatus slices in order: %s",
			queryClients, len(w.partners), q.failed, strings.Join(perSlice, ", "))}
	r = r.withBaseline("GET /healthz req/s", hRate)
	return []row{r.withTarget("≥ 10,000/s", qRate >= 10000 && q.failed == 0)}, nil
}

// phaseCount is what one load phase achieved.
type phaseCount struct {
	ok, failed int64
	elapsed    time.Duration
}

func (p phaseCount) add(o phaseCount) phaseCount {
	return phaseCount{p.ok + o.ok, p.failed + o.failed, p.elapsed + o.elapsed}
}

func (p phaseCount) rate() float64 { return float64(p.ok) / p.elapsed.Seconds() }

// queryPhase runs the clients for d: QueryStatus when cic, else /healthz.
func (w *world) queryPhase(ctx context.Context, cic bool, d time.Duration, okN, failN *atomic.Int64) (phaseCount, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	t0 := time.Now()
	for c := range queryClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := w.partners[c%len(w.partners)]
			ids := make([]string, 10)
			for k := range ids {
				ids[k] = `"` + deviceID((c*10+k)%w.o.devices) + `"`
			}
			payload := []byte(`{"deviceIds":[` + strings.Join(ids, ",") + `]}`)
			prefix := "q" + strconv.Itoa(c) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
			for n := 0; ctx.Err() == nil; n++ {
				var good bool
				var err error
				if cic {
					// A fresh messageId each call: a repeated one would be
					// answered from the idempotency cache.
					var status int
					var body []byte
					status, body, err = call(ctx, w.hc, w.agent.api, p.token,
						cicBody("CIC.Query", "QueryStatus", prefix+strconv.Itoa(n), payload))
					good = err == nil && status == http.StatusOK && bytes.Contains(body, []byte("QueryStatusResponse")) &&
						!bytes.Contains(body, []byte("errorCode"))
					if err == nil && !good {
						err = fmt.Errorf("QueryStatus: HTTP %d: %.200s", status, body)
					}
				} else {
					good, err = w.healthz(ctx)
				}
				if ctx.Err() != nil {
					return // the phase ended mid-request: not a failure
				}
				if good {
					ok.Add(1)
					okN.Add(1)
				} else {
					failed.Add(1)
					failN.Add(1)
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	pc := phaseCount{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(t0)}
	if pc.ok == 0 {
		return pc, fmt.Errorf("no successful answer in %v: %v", d, firstErr.Load())
	}
	return pc, nil
}

// healthz is one GET /healthz on the partners' client.
func (w *world) healthz(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+w.agent.api+"/healthz", nil)
	if err != nil {
		return false, err
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("GET /healthz: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}
