package mdns

import (
	"encoding/json"
	"net/http"
)

// InterfaceStatus is one interface the stack browses and answers on.
type InterfaceStatus struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"` // IPv4
	// Advertising is true where the agent's own instance is announced:
	// the stack advertises, has finished probing, and the interface has an
	// IPv4 address.
	Advertising bool `json:"advertising"`
}

// StackStatus says where mDNS runs, for `hubagent discovered` and the
// status page (local API route GET /v1/mdns/interfaces).
type StackStatus struct {
	Interfaces []InterfaceStatus  `json:"interfaces"`
	Skipped    []SkippedInterface `json:"skipped"`
	// Configured is true when the interfaces come from mdns.interfaces,
	// false for the default choice.
	Configured bool `json:"configured"`
	// Advertised is the agent's instance name while announced, else "".
	Advertised string `json:"advertised"`
}

// StackStatus returns where the stack runs.
func (b *Browser) StackStatus() StackStatus {
	st := StackStatus{Interfaces: []InterfaceStatus{}, Skipped: append([]SkippedInterface{}, b.choice.Skipped...),
		Configured: len(b.opts.Interfaces) > 0}
	resp := b.resp.Load()
	if resp != nil {
		st.Advertised = resp.Advertising()
	}
	for _, ifi := range b.ifaces {
		is := InterfaceStatus{Name: ifi.Name, Addresses: []string{}}
		for _, a := range ipv4Addrs(ifi) {
			is.Addresses = append(is.Addresses, a.String())
		}
		is.Advertising = st.Advertised != "" && resp.hasAddrs(ifi.Index)
		st.Interfaces = append(st.Interfaces, is)
	}
	return st
}

// InterfacesHandler serves StackStatus as JSON.
func (b *Browser) InterfacesHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(b.StackStatus())
	})
}
