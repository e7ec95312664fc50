package cloudlink

import (
	"context"
	"fmt"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/store"
)

// StorageSection shows the store's health on /status.
func StorageSection(health func() store.Health) oauth.Section {
	return oauth.Section{ID: "storage", Title: "Storage", Render: func(ctx context.Context, _ oauth.StatusContext) (oauth.HTML, error) {
		h := health()
		var b oauth.HTMLBuilder
		if h.OK {
			b.Raw("<p>Healthy")
			if h.FreeBytes >= 0 {
				b.Text(fmt.Sprintf(", %.1f MiB free", float64(h.FreeBytes)/(1<<20)))
			}
			b.Raw(".</p>")
			return b.HTML(), nil
		}
		b.Raw(`<p class="error"><strong>Storage problem</strong> since `)
		b.Text(h.Since.Format("2006-01-02 15:04:05") + fmt.Sprintf(" (%s ago)", time.Since(h.Since).Round(time.Second)))
		b.Raw(": ")
		b.Text(h.Problem)
		b.Raw("</p><p>State changes are kept in memory and saved once this is fixed; free space on the data directory's disk.</p>")
		return b.HTML(), nil
	}}
}
