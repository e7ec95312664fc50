package cloudlink

import (
	"bytes"
	"context"
	"database/sql"
	"html/template"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/notify"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
)

// The household's status page shows whether partners can reach the hub and
// whether they are hearing from it (users-ask: visible connection state,
// clear re-link signals). Both sections are read-only.

var remoteAccessTmpl = template.Must(template.New("remote").Parse(`<table>
<tr><th>State</th><td>{{.State}}{{if .Reason}} — {{.Reason}}{{end}}</td></tr>
{{if .Relay}}<tr><th>Relay</th><td>{{.Relay}}</td></tr>{{end}}
{{if .PublicURL}}<tr><th>Address</th><td>{{.PublicURL}}</td></tr>{{end}}
{{if .Since}}<tr><th>Connected since</th><td>{{.Since.Format "2006-01-02 15:04:05"}}</td></tr>{{end}}
<tr><th>Reconnects</th><td>{{.Reconnects}}</td></tr>
{{if .LastError}}<tr><th>Last error</th><td>{{.LastError}}{{if .LastErrorAt}} ({{.LastErrorAt.Format "2006-01-02 15:04:05"}}){{end}}</td></tr>{{end}}
</table>`))

// RemoteAccessSection shows the tunnel's state on /status.
func RemoteAccessSection(status func() tunnel.Status) oauth.Section {
	return oauth.Section{ID: "remote", Title: "Remote access", Render: func(ctx context.Context, _ oauth.StatusContext) (template.HTML, error) {
		var b bytes.Buffer
		if err := remoteAccessTmpl.Execute(&b, status()); err != nil {
			return "", err
		}
		return template.HTML(b.String()), nil //nolint:gosec // produced by html/template
	}}
}

var deliveryTmpl = template.Must(template.New("delivery").Parse(`{{if not .}}<p class="muted">No partner is linked.</p>{{else}}<table>
<tr><th>Partner</th><th>Waiting</th><th>Oldest</th><th>Last delivery</th></tr>
{{range .}}<tr><td>{{.Name}}</td><td>{{.Backlog}}</td><td>{{.Oldest}}</td><td>{{if .NeedsRelink}}<strong>Needs re-link</strong> — {{end}}{{.Last}}</td></tr>
{{end}}</table>{{end}}`))

type deliveryRow struct {
	Name, Oldest, Last string
	Backlog            int
	NeedsRelink        bool
}

// NotificationsSection shows each partner's notification backlog and last
// delivery result on /status.
func NotificationsSection(db *sql.DB, partners *oauth.Store) oauth.Section {
	return oauth.Section{ID: "notifications", Title: "Notifications to partners", Render: func(ctx context.Context, _ oauth.StatusContext) (template.HTML, error) {
		ps, err := partners.Partners(ctx)
		if err != nil {
			return "", err
		}
		health, err := notify.PartnerHealth(ctx, db)
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
		var b bytes.Buffer
		if err := deliveryTmpl.Execute(&b, rows); err != nil {
			return "", err
		}
		return template.HTML(b.String()), nil //nolint:gosec // produced by html/template
	}}
}
