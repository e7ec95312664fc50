package localbus

import (
	"crypto/subtle"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// brokerAuth admits the one configured user (or anyone when no user is
// configured) with read and write access to every topic. It replaces
// mochi-mqtt's hooks/auth package, whose rule ledger the agent did not use
// and which pulled a YAML parser into the binary (~0.26 MB stripped arm64).
type brokerAuth struct {
	mqtt.HookBase
	user, pass []byte // nil user: no credentials required
}

func (h *brokerAuth) ID() string { return "hubagent-auth" }

func (h *brokerAuth) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

// OnConnectAuthenticate compares both fields without an early exit on
// their content, so a wrong user name and a wrong password look alike.
func (h *brokerAuth) OnConnectAuthenticate(_ *mqtt.Client, pk packets.Packet) bool {
	if h.user == nil {
		return true
	}
	u := subtle.ConstantTimeCompare(pk.Connect.Username, h.user)
	p := subtle.ConstantTimeCompare(pk.Connect.Password, h.pass)
	return u&p == 1
}

// OnACLCheck allows every topic to an admitted client: the broker serves
// one household on loopback or its LAN.
func (h *brokerAuth) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
