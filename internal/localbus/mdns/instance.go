// Package mdns is the agent's one multicast DNS stack: on one socket, on
// the chosen interfaces only, it browses the LAN for DNS-SD services, keeps
// a bounded table of every instance seen (with first/last seen and gone
// marks from goodbye packets and TTL expiry), tells the drivers and the MQTT
// wiring about instances they care about, and answers for the agent itself
// as _hubagent._tcp (probe, announce, answer, goodbye).
//
// Both halves are written on the small DNS codec in dnsmsg. zeroconf's
// Browse (v1.0.0) stops querying after the first answer, swallows goodbye
// packets and never reports TTL expiry or a changed address; its server
// answers on whatever interface a query arrives on, configured or not
// (docs/drivers.md).
package mdns

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Instance is one service instance seen on the LAN. Its JSON form is the
// local API's GET /v1/discovered/mdns element.
type Instance struct {
	Name      string            // instance name, sanitized for display
	Service   string            // service type, such as "_wled._tcp"
	Host      string            // target host of the SRV record, such as "wled-1.local."
	Addresses []string          // IPv4 addresses of Host, sorted
	Port      int               // port of the SRV record, 0 while unknown
	TXT       map[string]string // TXT key=value pairs, bounded and sanitized
	FirstSeen time.Time
	LastSeen  time.Time
	Gone      bool // said goodbye, or its records expired
	// Status is what a driver says about the instance ("auth required",
	// "unreachable: ...", "ok"); empty when no driver looked at it.
	Status string
	// Interface is the name of the interface it was heard on.
	Interface string
}

// Key identifies an instance across updates: service type plus instance
// name, case-insensitively as DNS compares names.
func (i Instance) Key() string { return strings.ToLower(i.Service + "/" + i.Name) }

// Address returns the first address joined with the port ("10.0.0.3:80"),
// or "" while either is unknown.
func (i Instance) Address() string {
	if len(i.Addresses) == 0 || i.Port == 0 {
		return ""
	}
	return joinHostPort(i.Addresses[0], i.Port)
}

// clone returns a copy that shares no slices or maps with i.
func (i Instance) clone() Instance {
	c := i
	c.Addresses = slices.Clone(i.Addresses)
	if i.TXT != nil {
		c.TXT = make(map[string]string, len(i.TXT))
		for k, v := range i.TXT {
			c.TXT[k] = v
		}
	}
	return c
}

type wireInstance struct {
	Instance  string            `json:"instance"`
	Service   string            `json:"service"`
	Host      string            `json:"host"`
	Addresses []string          `json:"addresses"`
	Port      int               `json:"port"`
	TXT       map[string]string `json:"txt"`
	FirstSeen int64             `json:"firstSeen"`
	LastSeen  int64             `json:"lastSeen"`
	Gone      bool              `json:"gone"`
	Status    string            `json:"status,omitempty"`
	Interface string            `json:"interface,omitempty"`
}

// MarshalJSON writes the local API form: times in ms since the epoch, empty
// lists and objects rather than null.
func (i Instance) MarshalJSON() ([]byte, error) {
	w := wireInstance{
		Instance: i.Name, Service: i.Service, Host: i.Host, Addresses: i.Addresses, Port: i.Port,
		TXT: i.TXT, FirstSeen: i.FirstSeen.UnixMilli(), LastSeen: i.LastSeen.UnixMilli(), Gone: i.Gone,
		Status: i.Status, Interface: i.Interface,
	}
	if w.Addresses == nil {
		w.Addresses = []string{}
	}
	if w.TXT == nil {
		w.TXT = map[string]string{}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the local API form (for clients of the local API).
func (i *Instance) UnmarshalJSON(data []byte) error {
	var w wireInstance
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*i = Instance{Name: w.Instance, Service: w.Service, Host: w.Host, Addresses: w.Addresses, Port: w.Port,
		TXT: w.TXT, FirstSeen: time.UnixMilli(w.FirstSeen), LastSeen: time.UnixMilli(w.LastSeen),
		Gone: w.Gone, Status: w.Status, Interface: w.Interface}
	return nil
}
