package main

import (
	"bytes"
	"context"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/shelly"
	"github.com/hubagent/hubagent/internal/localbus/wled"
	"github.com/hubagent/hubagent/internal/metrics"
)

// mdnsLink is the agent's mDNS side: the browser and its table, the WLED
// and Shelly drivers it feeds, and the agent's own _hubagent._tcp
// announcement.
type mdnsLink struct {
	browser *mdns.Browser // nil when mDNS is off or no interface could be used
	wled    *wled.Driver
	shelly  *shelly.Driver
	log     *slog.Logger
}

// brokerSetter is the MQTT client's run-time broker switch.
type brokerSetter interface{ SetBroker(url string) error }

// newMDNSLink builds the drivers (registered with the hub even without
// mDNS, so devices found earlier are still polled at their last address)
// and, when enabled, the browser. With mqtt.broker = "auto" the first
// _mqtt._tcp broker found, and wherever it moves, goes to mq.SetBroker. An
// mDNS that cannot start is logged, never fatal: the agent is local first.
func newMDNSLink(cfg *config.Config, hubID string, apiAddr net.Addr, h *hub.Hub, m *metrics.Metrics,
	mq brokerSetter, log *slog.Logger) *mdnsLink {
	l := &mdnsLink{log: log}
	var status func(mdns.Instance, string)
	if cfg.MDNS.Enabled {
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
		} else {
			l.browser, status = b, b.SetStatus
		}
	}
	l.wled = wled.New(wled.Options{Hub: h, PollInterval: cfg.Drivers.PollInterval, Status: status,
		Logger: log.With("driver", wled.Source)})
	l.shelly = shelly.New(shelly.Options{Hub: h, PollInterval: cfg.Drivers.PollInterval,
		Password: cfg.Drivers.ShellyPassword, Status: status, Logger: log.With("driver", shelly.Source)})
	h.RegisterDriver(wled.Source, l.wled)
	h.RegisterDriver(shelly.Source, l.shelly)
	if l.browser == nil {
		return l
	}
	l.browser.Watch("_wled._tcp", l.wled.Found)
	l.browser.Watch("_shelly._tcp", l.shelly.Found)
	if cfg.MQTT.Broker == "auto" && mq != nil {
		l.browser.OnBroker(func(url string) {
			if err := mq.SetBroker(url); err != nil {
				log.Warn("MQTT broker found by mDNS not taken", "url", url, "err", err)
			}
		})
	}
	b := l.browser
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

// run browses, answers for the agent and drives until ctx ends; the stack
// withdraws the announcement with a goodbye. It returns nil: a failing
// mDNS is logged, the rest of the agent carries on.
func (l *mdnsLink) run(ctx context.Context) error {
	var wg sync.WaitGroup
	start := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				l.log.Warn("stopped", "part", name, "err", err)
			}
		}()
	}
	start("wled", l.wled.Run)
	start("shelly", l.shelly.Run)
	if l.browser != nil {
		start("browser", l.browser.Run)
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

var mdnsSectionTmpl = template.Must(template.New("mdns").Parse(`{{if not .}}<p class="muted">mDNS is off.</p>{{else}}<table>
<tr><th>Interfaces</th><td>{{range $i, $f := .Interfaces}}{{if $i}}, {{end}}{{$f.Name}}{{range $f.Addresses}} ({{.}}){{end}}{{if $f.Advertising}} — advertised{{end}}{{end}}{{if .Configured}} <span class="muted">(mdns.interfaces)</span>{{else}} <span class="muted">(default choice)</span>{{end}}</td></tr>
{{range .Skipped}}<tr><th>Not used</th><td>{{.Name}}: {{.Reason}}</td></tr>
{{end}}<tr><th>Advertised as</th><td>{{if .Advertised}}{{.Advertised}}{{else}}not advertised{{end}}</td></tr>
</table>{{end}}`))

// statusSection shows on /status which interfaces mDNS browses and
// answers on, and what the default choice left out.
func (l *mdnsLink) statusSection() oauth.Section {
	return oauth.Section{ID: "mdns", Title: "Local network (mDNS)", Render: func(context.Context, oauth.StatusContext) (template.HTML, error) {
		var st *mdns.StackStatus
		if l.browser != nil {
			s := l.browser.StackStatus()
			st = &s
		}
		var b bytes.Buffer
		if err := mdnsSectionTmpl.Execute(&b, st); err != nil {
			return "", err
		}
		return template.HTML(b.String()), nil //nolint:gosec // produced by html/template
	}}
}
