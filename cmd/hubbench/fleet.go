package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// fleet plays N Zigbee2MQTT-style dimmable lights on the broker: it
// publishes their Home Assistant discovery configs and states, and echoes
// every command on <dev>/set as the new state, the way Zigbee2MQTT
// reports a light after it has switched. It also echoes the bare
// round-trip topics of the control baseline with the same code.
//
// Topics: state hbdev/<i>, commands hbdev/<i>/set; baseline echo
// hbecho/<i>/set → hbecho/<i>. Brightness uses brightness_scale 100, so a
// raw value is the percent the agent reports (no rounding to match).
type fleet struct {
	n    int
	echo paho.Client // receives commands and answers them
	pub  paho.Client // publishes state and discovery (load generator)
	// last is each device's last brightness in percent, so that every
	// publish is a change; only the scenario running touches it.
	last []int
}

// deviceID is the agent's id of device i ("mqtt-" + the identifier).
func deviceID(i int) string { return fmt.Sprintf("mqtt-hb%05d", i) }

// deviceIndex is the inverse of deviceID, -1 for other ids.
func deviceIndex(id string) int {
	s, ok := strings.CutPrefix(id, "mqtt-hb")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return i
}

func stateTopic(i int) string { return fmt.Sprintf("hbdev/%05d", i) }

// connectMQTT connects one paho client.
func connectMQTT(ctx context.Context, broker, id string, onConnect paho.OnConnectHandler) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetOrderMatters(false).
		SetWriteTimeout(10 * time.Second)
	if onConnect != nil {
		o.SetOnConnectHandler(onConnect)
	}
	c := paho.NewClient(o)
	if err := waitToken(ctx, c.Connect(), "connect "+id); err != nil {
		return nil, err
	}
	return c, nil
}

// waitToken waits for a paho token and returns its error.
func waitToken(ctx context.Context, tok paho.Token, what string) error {
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: no answer from the broker in 30s", what)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func newFleet(ctx context.Context, broker string, n int) (*fleet, error) {
	f := &fleet{n: n, last: make([]int, n)}
	var err error
	f.echo, err = connectMQTT(ctx, broker, "hubbench-appliances", func(c paho.Client) {
		// Clean session: subscribe again after every (re)connect.
		c.Subscribe("hbdev/+/set", 0, f.onCommand)
		c.Subscribe("hbecho/+/set", 0, f.onCommand)
	})
	if err != nil {
		return nil, err
	}
	if f.pub, err = connectMQTT(ctx, broker, "hubbench-publisher", nil); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func (f *fleet) close() {
	for _, c := range []paho.Client{f.echo, f.pub} {
		if c != nil {
			c.Disconnect(50)
		}
	}
}

// onCommand echoes a command as the device's full new state, retained,
// on the state topic (the command topic without "/set").
func (f *fleet) onCommand(c paho.Client, m paho.Message) {
	var cmd map[string]any
	if json.Unmarshal(m.Payload(), &cmd) != nil {
		return
	}
	state := map[string]any{"state": "ON", "linkquality": 90}
	for k, v := range cmd {
		state[k] = v
	}
	b, _ := json.Marshal(state)
	c.Publish(strings.TrimSuffix(m.Topic(), "/set"), 0, false, b)
}

// announce publishes every device's discovery config and first state,
// retained (as Zigbee2MQTT does), so a restarted agent finds them again.
func (f *fleet) announce(ctx context.Context) error {
	var last paho.Token
	for i := range f.n {
		cfg := fmt.Sprintf(`{"brightness":true,"brightness_scale":100,"command_topic":"hbdev/%05d/set",`+
			`"device":{"identifiers":["hb%05d"],"manufacturer":"hubbench","model":"sim","name":"Bench %d"},`+
			`"name":null,"schema":"json","state_topic":"hbdev/%05d","supported_color_modes":["brightness"],"unique_id":"hb%05d_light"}`,
			i, i, i, i, i)
		f.pub.Publish(fmt.Sprintf("homeassistant/light/hb%05d/light/config", i), 1, true, cfg)
		f.last[i] = 50
		last = f.pub.Publish(stateTopic(i), 1, true, `{"state":"ON","brightness":50}`)
	}
	return waitToken(ctx, last, "announce devices")
}

// next returns device i's next brightness (always a change) and records it.
func (f *fleet) next(i int) int {
	f.last[i] = f.last[i]%100 + 1
	return f.last[i]
}

// statePayload is a Zigbee2MQTT light report.
func statePayload(pct int) []byte {
	return []byte(`{"state":"ON","brightness":` + strconv.Itoa(pct) + `,"linkquality":90}`)
}

// reconnected waits (at most 30 s) until both clients are connected again
// after the broker went away.
func (f *fleet) reconnected(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for !f.echo.IsConnectionOpen() || !f.pub.IsConnectionOpen() {
		if time.Now().After(deadline) {
			return fmt.Errorf("appliances not reconnected to the broker within 30s")
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
