package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/metrics"
)

// mdnsLink is the agent's mDNS side: the browser and its table, which
// feeds the registered drivers (wire_drivers.go) and finds the broker for
// mqtt.broker = "auto", and the agent's own _hubagent._tcp announcement.
type mdnsLink struct {
	browser *mdns.Browser // nil when mDNS is off or no interface could be used
	log     *slog.Logger
}

// brokerSetter is the MQTT client's run-time broker switch.
type brokerSetter interface{ SetBroker(url string) error }

// newMDNSLink builds the browser when mDNS is enabled. With mqtt.broker =
// "auto" the first _mqtt._tcp broker found, and wherever it moves, goes to
// mq.SetBroker. An mDNS that cannot start is logged, never fatal: the agent
// is local first.
func newMDNSLink(cfg *config.Config, hubID string, apiAddr net.Addr, m *metrics.Metrics,
	mq brokerSetter, log *slog.Logger) *mdnsLink {
	l := &mdnsLink{log: log}
	if !cfg.MDNS.Enabled {
		return l
	}
	opts := mdns.Options{Interfaces: cfg.MDNS.Interfaces, Services: cfg.MDNS.Services, Logger: log}
	// One stack browses and answers for the agent, on the same
	// interfaces and socket.
	if tcp, ok := apiAddr.(*net.TCPAddr); ok && cfg.MDNS.Advertise {
		opts.Advertise = &mdns.AdvertiseOptions{Instance: "hubagent " + shortID(hubID), Port: tcp.Port,
			HubID: hubID, Version: version}
	}
	b, err := mdns.New(opts)
	if err != nil {
		log.Warn("mDNS browsing is off", "err", err)
		return l
	}
	l.browser = b
	if cfg.MQTT.Broker == "auto" && mq != nil {
		b.OnBroker(func(url string) {
			if err := mq.SetBroker(url); err != nil {
				log.Warn("MQTT broker found by mDNS not taken", "url", url, "err", err)
			}
		})
	}
	m.Gauge("hubagent_mdns_instances", "mDNS service instances in the discovered table.",
		func() float64 { return float64(b.Stats().Instances) })
	m.Counter("hubagent_mdns_packets_sent_total", "mDNS queries sent.",
		func() float64 { return float64(b.Stats().PacketsSent) })
	m.Counter("hubagent_mdns_malformed_total", "mDNS packets that were not DNS.",
		func() float64 { return float64(b.Stats().Malformed) })
	m.Counter("hubagent_mdns_answers_sent_total", "mDNS announcements, answers and goodbyes for the agent itself.",
		func() float64 { return float64(b.Stats().AnswersSent) })
	return l
}

// status is where drivers record what they found out about an instance
// (shown in the discovered list); nil without a browser.
func (l *mdnsLink) status() func(mdns.Instance, string) {
	if l.browser == nil {
		return nil
	}
	return l.browser.SetStatus
}

// watch has the browser feed the drivers' services to them.
func (l *mdnsLink) watch(drivers *localbus.Drivers) {
	if l.browser != nil {
		drivers.Watch(l.browser)
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// routes are the local API routes: GET /v1/discovered/mdns and GET
// /v1/mdns/interfaces.
func (l *mdnsLink) routes() map[string]http.Handler {
	if l.browser == nil {
		return nil
	}
	return map[string]http.Handler{localapi.Pattern(http.MethodGet, localapi.PathDiscoveredMDNS): l.browser.Handler(),
		localapi.Pattern(http.MethodGet, localapi.PathMDNSInterfaces): l.browser.InterfacesHandler()}
}

// run browses and answers for the agent until ctx ends; the stack
// withdraws the announcement with a goodbye. It returns nil: a failing
// mDNS is logged, the rest of the agent carries on.
func (l *mdnsLink) run(ctx context.Context) error {
	if l.browser == nil {
		return nil
	}
	if err := l.browser.Run(ctx); err != nil {
		l.log.Warn("stopped", "part", "browser", "err", err)
	}
	return nil
}

// statusSection shows on /status which interfaces mDNS browses and
// answers on, and what the default choice left out.
func (l *mdnsLink) statusSection() oauth.Section {
	return oauth.Section{ID: "mdns", Title: "Local network (mDNS)", Render: func(context.Context, oauth.StatusContext) (oauth.HTML, error) {
		var b oauth.HTMLBuilder
		if l.browser == nil {
			b.Raw(`<p class="muted">mDNS is off.</p>`)
			return b.HTML(), nil
		}
		writeMDNSStatus(&b, l.browser.StackStatus())
		return b.HTML(), nil
	}}
}

func writeMDNSStatus(b *oauth.HTMLBuilder, st mdns.StackStatus) {
	b.Raw("<table>\n<tr><th>Interfaces</th><td>")
	for i, f := range st.Interfaces {
		if i > 0 {
			b.Raw(", ")
		}
		b.Text(f.Name)
		for _, a := range f.Addresses {
			b.Raw(" (")
			b.Text(a)
			b.Raw(")")
		}
		if f.Advertising {
			b.Raw(" — advertised")
		}
	}
	if st.Configured {
		b.Raw(` <span class="muted">(mdns.interfaces)</span>`)
	} else {
		b.Raw(` <span class="muted">(default choice)</span>`)
	}
	b.Raw("</td></tr>\n")
	for _, sk := range st.Skipped {
		b.Raw("<tr><th>Not used</th><td>")
		b.Text(sk.Name)
		b.Raw(": ")
		b.Text(sk.Reason)
		b.Raw("</td></tr>\n")
	}
	b.Raw("<tr><th>Advertised as</th><td>")
	if st.Advertised != "" {
		b.Text(st.Advertised)
	} else {
		b.Raw("not advertised")
	}
	b.Raw("</td></tr>\n</table>")
}
