package hadiscovery

import (
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery/hafixtures"
)

// fixture is one of hafixtures' real-world discovery configs, with its
// expected publishes as hadiscovery builds them.
type fixture struct {
	name        string
	topic       string
	config      string
	stateTopic  string
	state       string
	wantState   map[string]device.Value
	write       map[string]device.Value
	wantPublish []Publish
	wantEventAt []string
	refused     string
}

func fixtures() []fixture {
	var out []fixture
	for _, fx := range hafixtures.All() {
		var pubs []Publish
		for _, p := range fx.WantPublish {
			pubs = append(pubs, Publish{Topic: p.Topic, Payload: []byte(p.Payload), Retain: p.Retain, QoS: p.QoS})
		}
		out = append(out, fixture{name: fx.Name, topic: fx.Topic, config: fx.Config, stateTopic: fx.StateTopic,
			state: fx.State, wantState: fx.WantState, write: fx.Write, wantPublish: pubs, wantEventAt: fx.WantEventAt, refused: fx.Refused})
	}
	return out
}

func TestFixturesDecodeStateAndEncodeCommands(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			e, err := ParseConfig(fx.topic, []byte(fx.config))
			if fx.refused != "" {
				if err == nil || !strings.Contains(err.Error(), fx.refused) {
					t.Fatalf("ParseConfig: %v, want refused with %q", err, fx.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if fx.stateTopic != "" {
				before := time.Now().UnixMilli()
				got, err := DecodeState(e, fx.stateTopic, []byte(fx.state))
				if err != nil {
					t.Fatalf("DecodeState: %v", err)
				}
				for _, k := range fx.wantEventAt {
					if at, ok := got[k].AsInt(); !ok || at < before {
						t.Errorf("DecodeState %s = %v, want a time from %d on", k, got[k], before)
					}
					delete(got, k)
				}
				if !equalState(got, fx.wantState) {
					t.Errorf("DecodeState = %v, want %v", got, fx.wantState)
				}
			}
			if fx.write != nil {
				write := maps.Clone(fx.write)
				// The driver passes a power-on the brightness last
				// reported (localbus withLastBrightness).
				if b, ok := fx.wantState["brightness"]; ok && OnByBrightness(e) && write["brightness"] == (device.Value{}) {
					write["brightness"] = b
				}
				got, err := EncodeCommand(e, write)
				if err != nil {
					t.Fatalf("EncodeCommand: %v", err)
				}
				if !reflect.DeepEqual(got, fx.wantPublish) {
					t.Errorf("EncodeCommand =\n%s\nwant\n%s", fmtPubs(got), fmtPubs(fx.wantPublish))
				}
			}
		})
	}
}

func equalState(a, b map[string]device.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Kind() != w.Kind() || !v.Equal(w) {
			return false
		}
	}
	return true
}

func fmtPubs(ps []Publish) string {
	s := ""
	for _, p := range ps {
		s += p.Topic + " " + string(p.Payload) + "\n"
	}
	return s
}
