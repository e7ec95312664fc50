package localbus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery"
)

// DiscoveredConfig is one discovery config the client has seen, for
// `hubagent discovered`.
type DiscoveredConfig struct {
	Topic     string `json:"topic"`
	Component string `json:"component"`
	DeviceID  string `json:"deviceId,omitempty"`
	Status    string `json:"status"` // accepted or refused
	Reason    string `json:"reason,omitempty"`
	// Warnings list what an accepted config lost: each names the
	// component, the config key and the construct (see hadiscovery).
	Warnings  []string  `json:"warnings,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// Discovery statuses.
const (
	StatusAccepted = "accepted"
	StatusRefused  = "refused"
)

// discovery is the table of tracked entities and devices. Config
// messages, availability and connection changes are processed one at a
// time under procMu's write lock; state messages, the bulk of the traffic,
// are decoded by a few workers in parallel under its read lock (each topic
// always goes to the same worker, so one topic's messages stay in order).
// Readers outside that path — Send, Expect (called under the hub's lock),
// Discovered — take tabMu, which is never held while calling the hub.
type discovery struct {
	m      *MQTT
	prefix string
	work   []*stateQueue

	queued *byteBudget // payload bytes waiting in work, across workers

	procMu    sync.RWMutex
	connected bool
	upSince   time.Time // when connected last became true
	// settled is set when the start's grace has ended (see settle): from
	// then on an entity whose availability was never heard counts as
	// offline, as in Home Assistant.
	settled  bool
	gen      uint64 // bumped by SetBroker: entities not replayed by the new broker are offline
	routes   map[string][]route
	limitHit bool // "too many configs" was logged

	stashMu  sync.Mutex // trackedEntity.stash, written by state workers
	rebuilds rebuildCounter

	scratch sync.Pool // *stateScratch, for message

	tabMu    sync.RWMutex
	entities map[string]*trackedEntity // config topic →
	devices  map[string]*trackedDevice // device key →
	byID     map[string]*trackedDevice
	seen     map[string]*seenConfig // config topic →
}

type trackedEntity struct {
	e     *hadiscovery.Entity
	avail *hadiscovery.Availability
	dev   *trackedDevice
	gen   uint64
	// bound: the device's binding includes the entity. Until then its
	// state is kept in stash (under discovery.stashMu) and reported by the
	// rebuild that binds it.
	bound bool
	stash map[string]device.Value
	// built: the config topic was in the device's last good build (a
	// rebuild whose entities do not combine keeps these and tries the
	// others one at a time). Under procMu.
	built bool
}

type trackedDevice struct {
	key, id  string
	entities entitySet
	bind     *hadiscovery.Binding
	rebuild  deviceRebuild
}

// entitySet is a device's tracked entities, one per config topic. A slice:
// most devices have one to a few entities, where a map cost ~200 bytes
// even for one, and MaxEntitiesPerDevice bounds the scans.
type entitySet []*trackedEntity

func (s entitySet) get(topic string) *trackedEntity {
	for _, te := range s {
		if te.e.ConfigTopic == topic {
			return te
		}
	}
	return nil
}

// put adds te, replacing the entity of the same config topic.
func (s *entitySet) put(te *trackedEntity) {
	for i, old := range *s {
		if old.e.ConfigTopic == te.e.ConfigTopic {
			(*s)[i] = te
			return
		}
	}
	*s = append(*s, te)
}

func (s *entitySet) remove(topic string) {
	*s = slices.DeleteFunc(*s, func(te *trackedEntity) bool { return te.e.ConfigTopic == topic })
	if len(*s) == 0 {
		*s = nil
	}
}

// route is one entity listening on a topic, for state, availability or
// both.
type route struct {
	te           *trackedEntity
	state, avail bool
}

type seenConfig struct {
	DiscoveredConfig
	hash uint64
}

func newDiscovery(m *MQTT) *discovery {
	work := make([]*stateQueue, stateWorkers())
	for i := range work {
		work[i] = newStateQueue(stateQueueLen)
	}
	d := &discovery{m: m, prefix: m.opts.DiscoveryPrefix, routes: map[string][]route{}, work: work,
		queued:   newByteBudget(int64(m.opts.StateQueueBytes)),
		entities: map[string]*trackedEntity{}, devices: map[string]*trackedDevice{},
		byID: map[string]*trackedDevice{}, seen: map[string]*seenConfig{}}
	d.scratch.New = func() any { return newStateScratch() }
	return d
}

// configTopic reports whether topic is <prefix>/<component>/[<node>/]<object>/config.
func (d *discovery) configTopic(topic string) (component string, ok bool) {
	rest, ok := strings.CutPrefix(topic, d.prefix+"/")
	if !ok || !strings.HasSuffix(rest, "/config") {
		return "", false
	}
	if n := strings.Count(rest, "/"); n != 2 && n != 3 {
		return "", false
	}
	component, _, _ = strings.Cut(rest, "/")
	return component, true
}

func payloadHash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// touchSeen returns the record of a config topic already seen, marked as
// seen now, or nil.
func (d *discovery) touchSeen(topic string, now time.Time) *seenConfig {
	d.tabMu.Lock()
	defer d.tabMu.Unlock()
	rec := d.seen[topic]
	if rec != nil {
		rec.LastSeen = now
	}
	return rec
}

// forgetSeen drops a removed config topic's record.
func (d *discovery) forgetSeen(topic string) {
	d.tabMu.Lock()
	delete(d.seen, topic)
	d.tabMu.Unlock()
}

// config handles a discovery config: new, changed, repeated or removed.
func (d *discovery) config(ctx context.Context, topic, component string, payload []byte) {
	if component == "device" && hadiscovery.IsDeviceConfigTopic(topic) {
		d.deviceConfig(ctx, topic, payload) // device-based discovery: mqtt_device_discovery.go
		return
	}
	now := time.Now()
	if len(payload) == 0 {
		if te := d.entities[topic]; te != nil {
			d.m.log.Info("MQTT entity removed", "topic", topic, "device", te.dev.id)
			d.untrack(ctx, te)
		}
		d.forgetSeen(topic)
		return
	}
	h := payloadHash(payload)
	rec := d.touchSeen(topic, now)
	if rec != nil && rec.hash == h {
		// Republished unchanged (publishers do so on every restart).
		if rec.Status == StatusRefused {
			d.m.refused.Add(1)
		} else if te := d.entities[topic]; te != nil && te.gen != d.gen {
			te.gen = d.gen
			d.refreshOnline(te.dev)
		}
		return
	}
	if rec == nil && len(d.seen) >= 2*d.m.opts.MaxEntities {
		// A flood of distinct config topics: stop recording them.
		d.m.refused.Add(1)
		if !d.limitHit {
			d.limitHit = true
			d.m.log.Warn("MQTT discovery: too many config topics; ignoring new ones", "limit", 2*d.m.opts.MaxEntities)
		}
		return
	}
	if rec == nil {
		rec = &seenConfig{DiscoveredConfig: DiscoveredConfig{Topic: topic, Component: component, FirstSeen: now, LastSeen: now}}
		d.tabMu.Lock()
		d.seen[topic] = rec
		d.tabMu.Unlock()
	}
	e, err := hadiscovery.ParseConfig(topic, payload)
	if err == nil && d.entities[topic] == nil && len(d.entities) >= d.m.opts.MaxEntities {
		err = errors.New("too many MQTT entities tracked (limit reached)")
	}
	if err == nil {
		err = d.track(ctx, e)
	}
	d.tabMu.Lock()
	rec.hash = h
	if err != nil {
		rec.Status, rec.Reason, rec.Warnings = StatusRefused, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "hadiscovery: "), topic+": "), nil
	} else {
		rec.Status, rec.Reason, rec.Warnings = StatusAccepted, "", e.Warnings
		rec.DeviceID = d.entities[topic].dev.id
	}
	d.tabMu.Unlock()
	if err != nil {
		// Logged once per topic and change: a publisher repeating a bad
		// config does not flood the log.
		d.m.refused.Add(1)
		d.m.log.Warn("MQTT discovery config refused", "topic", topic, "reason", rec.Reason)
	} else if len(e.Warnings) > 0 {
		d.m.log.Warn("MQTT discovery config accepted in part", "topic", topic, "warnings", strings.Join(e.Warnings, "; "))
	}
}

// track adds or replaces an entity and schedules its device's rebuild (see
// markDirty). On error nothing changed.
func (d *discovery) track(ctx context.Context, e *hadiscovery.Entity) error {
	key := hadiscovery.DeviceKey(e)
	old := d.entities[e.ConfigTopic]
	td := d.devices[key]
	if td == nil {
		td = &trackedDevice{key: key, id: hadiscovery.DeviceID(key)}
	}
	if (old == nil || old.dev != td) && len(td.entities) >= d.m.opts.MaxEntitiesPerDevice {
		return fmt.Errorf("device %s already has %d entities (the per-device limit)", td.id, len(td.entities))
	}
	// The entity must make a device on its own; how it combines with the
	// device's other entities is checked by the rebuild.
	if err := hadiscovery.CheckDevice([]*hadiscovery.Entity{e}); err != nil {
		return err
	}
	te := &trackedEntity{e: e, avail: hadiscovery.NewAvailability(e), dev: td, gen: d.gen}
	// A replaced config keeps its topic's place in the last good build.
	te.built = old != nil && old.dev == td && old.built
	if old != nil {
		d.dropRoutes(old)
	}
	d.tabMu.Lock()
	if old != nil {
		old.dev.entities.remove(e.ConfigTopic)
	}
	td.entities.put(te)
	d.entities[e.ConfigTopic] = te
	d.devices[key] = td
	d.byID[td.id] = td
	d.tabMu.Unlock()
	d.addRoutes(te)
	if old != nil && old.dev != td {
		d.markDirty(ctx, old.dev) // the entity moved to another device
	}
	d.markDirty(ctx, td)
	return nil
}

// untrack removes an entity, and its device when nothing is left.
func (d *discovery) untrack(ctx context.Context, te *trackedEntity) {
	d.dropRoutes(te)
	d.tabMu.Lock()
	delete(d.entities, te.e.ConfigTopic)
	te.dev.entities.remove(te.e.ConfigTopic)
	d.tabMu.Unlock()
	d.markDirty(ctx, te.dev)
}

// addRoutes subscribes the entity's topics. A topic another entity already
// listens on is subscribed again all the same: the broker then re-sends its
// retained message, which the new entity has not seen.
func (d *discovery) addRoutes(te *trackedEntity) {
	add := func(topic string, state, avail bool) {
		for i, r := range d.routes[topic] {
			if r.te == te {
				d.routes[topic][i].state = r.state || state
				d.routes[topic][i].avail = r.avail || avail
				return
			}
		}
		d.routes[topic] = append(d.routes[topic], route{te: te, state: state, avail: avail})
		d.m.subs.add(topic)
	}
	for _, t := range te.e.StateTopics() {
		add(t, true, false)
	}
	for _, a := range te.e.AvailabilityTopics() {
		add(a.Topic, false, true)
	}
}

// dropRoutes unsubscribes the topics no other entity needs.
func (d *discovery) dropRoutes(te *trackedEntity) {
	for _, topic := range routeTopics(te.e) {
		rs := slices.DeleteFunc(d.routes[topic], func(r route) bool { return r.te == te })
		if len(rs) == 0 {
			delete(d.routes, topic)
			d.m.subs.remove(topic)
		} else {
			d.routes[topic] = rs
		}
	}
}

func routeTopics(e *hadiscovery.Entity) []string {
	ts := e.StateTopics()
	for _, a := range e.AvailabilityTopics() {
		if !slices.Contains(ts, a.Topic) {
			ts = append(ts, a.Topic)
		}
	}
	return ts
}

// online reports whether td is online: any entity replayed by the current
// broker is available. known is false while no such entity's availability
// has been heard yet and the start's grace has not ended: right after a
// restart the broker replays configs before the retained availability
// messages, and the device must not be announced offline in between.
func (d *discovery) online(td *trackedDevice) (online, known bool) {
	if !d.connected {
		return false, true
	}
	known = d.settled
	for _, te := range td.entities {
		if te.gen != d.gen {
			continue
		}
		if te.avail.Online() {
			return true, true
		}
		known = known || te.avail.Known()
	}
	return false, known
}

// refreshOnline tells the hub whether td is online, once that is known.
func (d *discovery) refreshOnline(td *trackedDevice) {
	if online, known := d.online(td); known {
		d.m.hub.SetOnline(td.id, online)
	}
}

// setConnected records a broker connection change. A connection lost
// takes the devices offline, announced, or only unconfirmed when the
// agent is stopping (see disconnectLocked).
func (d *discovery) setConnected(up, announce bool) {
	d.procMu.Lock()
	defer d.procMu.Unlock()
	d.connected = up
	if up {
		d.upSince = time.Now()
	}
	if !up {
		if announce {
			d.m.hub.SetSourceOnline(MQTTSource, false)
		} else {
			d.m.hub.SetSourceUnconfirmed(MQTTSource)
		}
		return
	}
	for _, key := range slices.Sorted(maps.Keys(d.devices)) {
		d.refreshOnline(d.devices[key])
	}
}

// settle ends the start's grace (see MQTTOptions.UnconfirmedGrace): a
// broker still unreachable is announced as the loss it is, all devices
// offline; once a broker has been connected for replay, the devices it did
// not replay (their configs vanished while the agent was down) are
// announced offline. It returns how much longer to wait when the broker
// connected less than replay ago. Under procMu, so a connection or a
// confirmation made meanwhile wins.
func (d *discovery) settle(now time.Time, replay time.Duration) time.Duration {
	d.procMu.Lock()
	defer d.procMu.Unlock()
	switch {
	case !d.connected:
		d.m.hub.SetSourceOnline(MQTTSource, false)
	case now.Sub(d.upSince) < replay:
		return replay - now.Sub(d.upSince)
	default:
		if n := d.m.hub.AnnounceUnconfirmed(MQTTSource); n > 0 {
			d.m.log.Info("mqtt: devices not replayed by the broker, or without availability since the start, announced offline", "devices", n)
		}
	}
	d.settled = true
	return 0
}

// newBroker starts a new generation: every entity must be replayed by the
// new broker to count again.
func (d *discovery) newBroker() {
	d.procMu.Lock()
	d.gen++
	d.procMu.Unlock()
}

// discovered returns the configs seen, by topic.
func (d *discovery) discovered() []DiscoveredConfig {
	d.tabMu.RLock()
	out := make([]DiscoveredConfig, 0, len(d.seen))
	for _, rec := range d.seen {
		if rec.Status == "" {
			continue // a first config still being read: listed with its outcome
		}
		out = append(out, rec.DiscoveredConfig)
	}
	d.tabMu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// Discovered returns every discovery config seen, accepted or refused, by
// topic.
func (m *MQTT) Discovered() []DiscoveredConfig { return m.disc.discovered() }
