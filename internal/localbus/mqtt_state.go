package localbus

import (
	"context"
	"runtime"
	"sync"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery"
)

// busMessage is a message queued for a state worker.
type busMessage struct {
	topic   string
	payload []byte
}

// stateScratch is what state messages are decoded with: the message,
// decoded once and shared by every entity listening on its topic (all the
// entities of a Zigbee2MQTT device read one topic), the map each entity's
// values pass through, and the reports gathered for the hub with the maps
// they point to. One per state worker (and pooled for message), reused for
// every message: state is the bulk of the traffic.
type stateScratch struct {
	msg     hadiscovery.State
	local   map[string]device.Value   // entity-local names
	reports []hub.StateReport         // gathered, not yet reported
	props   []map[string]device.Value // reports[i].Props (device names), reused
	spare   []busMessage              // storage handed back to the worker's stateQueue
}

func newStateScratch() *stateScratch {
	return &stateScratch{local: map[string]device.Value{}}
}

// nextProps returns the cleared map for the next report gathered.
func (sc *stateScratch) nextProps() map[string]device.Value {
	i := len(sc.reports)
	if i == len(sc.props) {
		sc.props = append(sc.props, map[string]device.Value{})
	}
	clear(sc.props[i])
	return sc.props[i]
}

// stateWorkers is how many goroutines decode state messages.
func stateWorkers() int { return max(1, min(runtime.GOMAXPROCS(0), 4)) }

// runWorkers decodes state messages until ctx ends. Each worker takes
// whatever its queue holds and reports it to the hub in one call.
func (d *discovery) runWorkers(ctx context.Context, wg *sync.WaitGroup) {
	for _, q := range d.work {
		wg.Go(func() {
			sc := newStateScratch()
			for {
				msgs, ok := q.take(ctx, sc.spare)
				if !ok {
					return
				}
				d.messages(sc, msgs)
				var n int64
				for _, m := range msgs {
					n += int64(len(m.payload))
				}
				clear(msgs) // the storage is reused; it keeps no payload alive
				sc.spare = msgs[:0]
				d.queued.release(n)
			}
		})
	}
}

// handle takes one message from the broker (on paho's delivery
// goroutine): configs are processed at once, in order; state goes to the
// topic's worker. A state payload over MaxStatePayload is dropped and
// counted; a full queue (in messages or in bytes) blocks, so the broker
// connection slows down instead of memory growing.
func (d *discovery) handle(ctx context.Context, topic string, payload []byte) {
	if comp, ok := d.configTopic(topic); ok {
		d.procMu.Lock()
		d.config(ctx, topic, comp, payload)
		d.procMu.Unlock()
		return
	}
	if len(payload) > d.m.opts.MaxStatePayload {
		if d.m.dropped.Add(1) == 1 {
			d.m.log.Warn("MQTT state payload over the limit dropped (logged once; see hubagent_mqtt_state_dropped_total)",
				"topic", truncate(topic, 200), "bytes", len(payload), "limit", d.m.opts.MaxStatePayload)
		}
		return
	}
	if !d.queued.acquire(ctx, int64(len(payload))) {
		return
	}
	// FNV-1a of the topic, inline: no allocation per message.
	h := uint32(2166136261)
	for i := 0; i < len(topic); i++ {
		h = (h ^ uint32(topic[i])) * 16777619
	}
	if !d.work[h%uint32(len(d.work))].push(ctx, busMessage{topic, payload}) {
		d.queued.release(int64(len(payload)))
	}
}

// message processes one state or availability message (tests, benchmarks).
func (d *discovery) message(topic string, payload []byte) {
	sc := d.scratch.Get().(*stateScratch)
	one := [1]busMessage{{topic, payload}}
	d.messages(sc, one[:])
	d.scratch.Put(sc)
}

// messages processes state and availability messages in order. The state
// they carry is gathered and reported to the hub in one call
// (hub.ReportStates); an availability message first reports what was
// gathered before it, so the hub sees everything in arrival order.
func (d *discovery) messages(sc *stateScratch, msgs []busMessage) {
	d.procMu.RLock()
	for i := range msgs {
		if !d.decode(sc, msgs[i].topic, msgs[i].payload) {
			continue
		}
		d.reportGathered(sc)
		d.procMu.RUnlock()
		d.availability(msgs[i].topic, msgs[i].payload)
		d.procMu.RLock()
	}
	d.reportGathered(sc)
	d.procMu.RUnlock()
}

// decode gathers the state one message carries for the entities listening
// on its topic, and reports whether some entity takes it as availability.
// procMu is held for reading.
func (d *discovery) decode(sc *stateScratch, topic string, payload []byte) (avail bool) {
	sc.msg.Reset(topic, payload)
	for _, r := range d.routes[topic] {
		if r.state {
			d.state(sc, r.te)
		}
		avail = avail || r.avail
	}
	sc.msg.Reset("", nil) // a reused scratch keeps no payload alive
	return avail
}

// reportGathered hands the gathered reports to the hub. procMu is held
// for reading: a config change cannot rebind a device meanwhile.
func (d *discovery) reportGathered(sc *stateScratch) {
	if len(sc.reports) == 0 {
		return
	}
	d.m.hub.ReportStates(sc.reports)
	clear(sc.reports)
	sc.reports = sc.reports[:0]
}

// availability applies an availability message. It is rare and shared
// between entities: one at a time.
func (d *discovery) availability(topic string, payload []byte) {
	d.procMu.Lock()
	defer d.procMu.Unlock()
	for _, r := range d.routes[topic] {
		if r.avail {
			r.te.avail.Update(topic, payload)
			d.refreshOnline(r.te.dev)
		}
	}
}

// state decodes sc's message for one entity and gathers what it says.
func (d *discovery) state(sc *stateScratch, te *trackedEntity) {
	clear(sc.local)
	if err := hadiscovery.DecodeStateInto(te.e, &sc.msg, sc.local); err != nil {
		d.m.log.Debug("MQTT state ignored", "topic", sc.msg.Topic(), "err", err)
		return
	}
	if len(sc.local) == 0 {
		return
	}
	if !te.bound {
		d.stash(te, sc.local)
		return
	}
	props := sc.nextProps()
	te.dev.bind.ToDeviceInto(te.e.ConfigTopic, sc.local, props)
	if len(props) > 0 {
		// At is left zero: the hub stamps the whole batch with one clock read.
		sc.reports = append(sc.reports, hub.StateReport{DeviceID: te.dev.id, Props: props})
	}
}
