package cloudlink

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/store"
)

var storageTmpl = template.Must(template.New("storage").Parse(`{{if .OK}}<p>Healthy{{if .Free}}, {{.Free}} free{{end}}.</p>{{else}}` +
	`<p class="error"><strong>Storage problem</strong> since {{.Since}}: {{.Problem}}</p>` +
	`<p>State changes are kept in memory and saved once this is fixed; free space on the data directory's disk.</p>{{end}}`))

type storageView struct {
	OK            bool
	Problem, Free string
	Since         string
}

// StorageSection shows the store's health on /status.
func StorageSection(health func() store.Health) oauth.Section {
	return oauth.Section{ID: "storage", Title: "Storage", Render: func(ctx context.Context, _ oauth.StatusContext) (template.HTML, error) {
		h := health()
		v := storageView{OK: h.OK, Problem: h.Problem, Since: h.Since.Format("2006-01-02 15:04:05") +
			fmt.Sprintf(" (%s ago)", time.Since(h.Since).Round(time.Second))}
		if h.FreeBytes >= 0 {
			v.Free = fmt.Sprintf("%.1f MiB", float64(h.FreeBytes)/(1<<20))
		}
		var b bytes.Buffer
		if err := storageTmpl.Execute(&b, v); err != nil {
			return "", err
		}
		return template.HTML(b.String()), nil //nolint:gosec // produced by html/template
	}}
}
