package localbus

import (
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// ProbeBroker reports whether an MQTT broker accepts a connection at addr
// (host:port) with the given credentials. The agent uses it when the
// embedded broker's port is taken: a household broker already listening
// there is used instead ("no broker configured or found").
func ProbeBroker(addr, username, password string, timeout time.Duration) bool {
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("hubagent-probe").
		SetUsername(username).SetPassword(password).SetConnectTimeout(timeout).
		SetAutoReconnect(false).SetConnectRetry(false)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(timeout) || tok.Error() != nil {
		return false
	}
	c.Disconnect(0)
	return true
}
