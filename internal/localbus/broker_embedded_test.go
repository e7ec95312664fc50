package localbus

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// With the embedded broker, every appliance whose retained config and state
// wait on the broker is tracked with its state when the agent connects: the
// retained configs arrive in a burst while the agent subscribes to the
// state topics they name (hubbench saw the first devices' state lost there
// when configs were taken at QoS 1).
func TestEmbeddedBrokerTracksEveryAnnouncedDevice(t *testing.T) {
	br, err := StartBroker(BrokerOptions{Listen: testutil.FreeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("appliances"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	const n = 200
	for i := range n {
		cfg := fmt.Sprintf(`{"name":null,"schema":"json","brightness":true,"command_topic":"emb/%03d/set","state_topic":"emb/%03d",`+
			`"device":{"identifiers":["emb%03d"],"name":"Light %d"},"unique_id":"emb%03d_light"}`, i, i, i, i, i)
		pub.Publish(fmt.Sprintf("homeassistant/light/emb%03d/light/config", i), 1, true, cfg)
		pub.Publish(fmt.Sprintf("emb/%03d", i), 1, true, `{"state":"ON","brightness":128}`)
	}
	mq, err := NewMQTT(MQTTOptions{Hub: h, HubID: "embedded", Broker: br.URL(), EmbeddedBroker: true})
	if err != nil {
		t.Fatal(err)
	}
	defer startMQTT(t, mq)()
	testutil.Eventually(t, 5*time.Second, "the agent connected", func() bool { return mq.Stats().Connected })

	testutil.Eventually(t, 15*time.Second, "every device's state", func() bool {
		ds := h.Devices()
		if len(ds) < n {
			return false
		}
		for _, d := range ds {
			if len(d.State) == 0 {
				return false
			}
		}
		return true
	})
}
