package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/testutil"
)

func TestStatusPageSectionShowsWhereMDNSRuns(t *testing.T) {
	t.Parallel()
	render := func(l *mdnsLink) string {
		t.Helper()
		h, err := l.statusSection().Render(context.Background(), oauth.StatusContext{})
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	if got := render(&mdnsLink{}); !strings.Contains(got, "mDNS is off") {
		t.Errorf("without mDNS: %s", got)
	}

	n := mdnstest.New(t)
	b, err := mdns.New(mdns.Options{Interfaces: []string{n.HostIf}, Services: []string{"_http._tcp"},
		Advertise: &mdns.AdvertiseOptions{Instance: "hubagent <" + n.Name + ">", Port: 8443, HubID: n.Name, Version: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	mdnstest.Go(t, b.Run)
	l := &mdnsLink{browser: b}
	want := []string{n.HostIf + " (" + n.HostIP() + ") — advertised", "(mdns.interfaces)",
		"hubagent &lt;" + n.Name + "&gt;"}
	testutil.Eventually(t, 10*time.Second, "the section to show the advertised interface", func() bool {
		got := render(l)
		for _, w := range want {
			if !strings.Contains(got, w) {
				return false
			}
		}
		return true
	})
}
