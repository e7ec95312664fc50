package tunnel

import "time"

// States of the tunnel, as the CLI and the local API show them.
const (
	StateOff        = "off"        // not configured, or the agent is stopping; Reason says why
	StateConnecting = "connecting" // an attempt is under way
	StateConnected  = "connected"  // forwarding; partners can reach the hub
	StateError      = "error"      // the last attempt failed; the next one is at NextAttempt
)

// Status is the tunnel's state (GET /v1/tunnel on the local API).
type Status struct {
	State        string `json:"state"`
	Reason       string `json:"reason,omitempty"` // why remote access is off
	Relay        string `json:"relay,omitempty"`
	User         string `json:"user,omitempty"`
	RemoteListen string `json:"remoteListen,omitempty"`
	PublicURL    string `json:"publicUrl,omitempty"`
	// Source says where the settings come from: "config" ([tunnel] in the
	// configuration file) or "enrollment" (tunnel enroll, in the data
	// directory).
	Source      string     `json:"source,omitempty"`
	RelayKey    string     `json:"relayKey,omitempty"` // fingerprint of the key the relay presented
	Since       *time.Time `json:"connectedSince,omitempty"`
	Attempts    uint64     `json:"attempts"`   // connection attempts since start
	Sessions    uint64     `json:"sessions"`   // attempts that got connected
	Reconnects  uint64     `json:"reconnects"` // sessions after the first
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
	NextAttempt *time.Time `json:"nextAttempt,omitempty"`
}

// Off is the status of a tunnel that is not running, with the reason.
func Off(reason string) Status { return Status{State: StateOff, Reason: reason} }
