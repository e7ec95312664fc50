package cloudlink

import (
	"context"
	"strconv"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/notify"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
)

// The household's status page shows whether partners can reach the hub and
// whether they are hearing from it (users-ask: visible connection state,
// clear re-link signals). Both sections are read-only.

// RemoteAccessSection shows the tunnel's state on /status.
func RemoteAccessSection(status func() tunnel.Status) oauth.Section {
	return oauth.Section{ID: "remote", Title: "Remote access", Render: func(ctx context.Context, _ oauth.StatusContext) (oauth.HTML, error) {
		return remoteAccessHTML(status()), nil
	}}
}

func remoteAccessHTML(st tunnel.Status) oauth.HTML {
	var b oauth.HTMLBuilder
	row := func(th, td string) {
		b.Raw("<tr><th>" + th + "</th><td>")
		b.Text(td)
		b.Raw("</td></tr>\n")
	}
	b.Raw("<table>\n<tr><th>State</th><td>")
	b.Text(st.State)
	if st.Reason != "" {
		b.Raw(" — ")
		b.Text(st.Reason)
	}
	b.Raw("</td></tr>\n")
	if st.Relay != "" {
		row("Relay", st.Relay)
	}
	if st.PublicURL != "" {
		row("Address", st.PublicURL)
	}
	if st.Since != nil {
		row("Connected since", st.Since.Format(time.DateTime))
	}
	row("Reconnects", strconv.FormatUint(st.Reconnects, 10))
	if st.LastError != "" {
		b.Raw("<tr><th>Last error</th><td>")
		b.Text(st.LastError)
		if st.LastErrorAt != nil {
			b.Raw(" (" + st.LastErrorAt.Format(time.DateTime) + ")")
		}
		b.Raw("</td></tr>\n")
	}
	b.Raw("</table>")
	return b.HTML()
}

type deliveryRow struct {
	Name, Oldest, Last string
	Backlog            int
	NeedsRelink        bool
}

// NotificationsSection shows each partner's notification backlog and last
// delivery result on /status, as health reads them (the running
// notifier's PartnerHealth, current between flushes).
func NotificationsSection(health func(context.Context) (map[string]notify.Health, error), partners *oauth.Store) oauth.Section {
	return oauth.Section{ID: "notifications", Title: "Notifications to partners", Render: func(ctx context.Context, _ oauth.StatusContext) (oauth.HTML, error) {
		ps, err := partners.Partners(ctx)
		if err != nil {
			return "", err
		}
		health, err := health(ctx)
		if err != nil {
			return "", err
		}
		var rows []deliveryRow
		for _, p := range ps {
			h := health[p.ClientID]
			r := deliveryRow{Name: p.Name, Backlog: h.Backlog, NeedsRelink: h.NeedsRelink, Oldest: "—", Last: "none yet"}
			if h.Backlog > 0 {
				r.Oldest = time.Since(h.OldestPending).Round(time.Second).String()
			}
			if h.LastResult != "" {
				r.Last = h.LastResult + " at " + h.LastAttempt.Format("2006-01-02 15:04:05")
			}
			rows = append(rows, r)
		}
		return deliveryHTML(rows), nil
	}}
}

func deliveryHTML(rows []deliveryRow) oauth.HTML {
	var b oauth.HTMLBuilder
	if len(rows) == 0 {
		b.Raw(`<p class="muted">No partner is linked.</p>`)
		return b.HTML()
	}
	b.Raw("<table>\n<tr><th>Partner</th><th>Waiting</th><th>Oldest</th><th>Last delivery</th></tr>\n")
	for _, r := range rows {
		b.Raw("<tr><td>")
		b.Text(r.Name)
		b.Raw("</td><td>")
		b.Int(int64(r.Backlog))
		b.Raw("</td><td>")
		b.Text(r.Oldest)
		b.Raw("</td><td>")
		if r.NeedsRelink {
			b.Raw("<strong>Needs re-link</strong> — ")
		}
		b.Text(r.Last)
		b.Raw("</td></tr>\n")
	}
	b.Raw("</table>")
	return b.HTML()
}
