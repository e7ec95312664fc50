package mdns_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// startBrowser runs a browser on the test link until the test ends.
func startBrowser(t *testing.T, n *mdnstest.Net, opts mdns.Options) *mdns.Browser {
	t.Helper()
	opts.Interfaces = []string{n.HostIf}
	if opts.Services == nil {
		opts.Services = []string{"_mqtt._tcp", "_wled._tcp", "_shelly._tcp", "_http._tcp"}
	}
	b, _ := runStack(t, opts)
	return b
}

// runStack runs a stack until stop or the end of the test, whichever
// comes first; stop returns once the goodbye is out.
func runStack(t *testing.T, opts mdns.Options) (*mdns.Browser, func()) {
	t.Helper()
	b, err := mdns.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("stack: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	// Run joins the multicast group before its first query: once a query
	// went out, packets sent to the group reach the stack.
	testutil.Eventually(t, 5*time.Second, "the stack's first query", func() bool { return b.Stats().PacketsSent > 0 })
	return b, stop
}

// uniqueID is a hub id no other test or agent on the host uses: the tests
// match their own advertisement by it.
func uniqueID(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "hub-" + hex.EncodeToString(b[:])
}

// waitInstance waits until an instance matching ok is in the table.
func waitInstance(t *testing.T, b *mdns.Browser, d time.Duration, what string, ok func(mdns.Instance) bool) mdns.Instance {
	t.Helper()
	var found mdns.Instance
	if !testutil.Poll(d, func() bool {
		for _, in := range b.Instances() {
			if ok(in) {
				found = in
				return true
			}
		}
		return false
	}) {
		t.Fatalf("timed out waiting for %s; table: %+v", what, b.Instances())
	}
	return found
}

func TestBrowserSeesAvahiServicesAndGoodbyes(t *testing.T) {
	t.Parallel() // a network namespace of its own
	n := mdnstest.New(t)
	av := n.StartAvahi("")
	b := startBrowser(t, n, mdns.Options{})
	var mu sync.Mutex
	var brokers []string
	b.OnBroker(func(url string) { mu.Lock(); brokers = append(brokers, url); mu.Unlock() })

	pub := av.Publish("-s", "Living Room Broker", "_mqtt._tcp", "1883", "vendor=test", "odd=\x01é")
	in := waitInstance(t, b, 10*time.Second, "avahi's _mqtt._tcp", func(i mdns.Instance) bool {
		return i.Name == "Living Room Broker" && i.Port == 1883 && len(i.Addresses) > 0
	})
	if in.Service != "_mqtt._tcp" || in.TXT["vendor"] != "test" || in.Addresses[0] != n.PeerIP(2) || in.Gone {
		t.Fatalf("instance = %+v", in)
	}
	if got := in.TXT["odd"]; got != "\uFFFDé" {
		t.Errorf("control byte in TXT not sanitized: %q", got)
	}
	testutil.Eventually(t, 5*time.Second, "broker callback", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(brokers) == 1 && brokers[0] == "tcp://"+n.PeerIP(2)+":1883"
	})

	// The local API form.
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", localapi.PathDiscoveredMDNS, nil))
	var list []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) == 0 {
		t.Fatalf("discovered: %v %s", err, rec.Body)
	}
	for _, k := range []string{"instance", "service", "host", "addresses", "port", "txt", "firstSeen", "lastSeen", "gone"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("discovered entry lacks %q: %v", k, list[0])
		}
	}

	pub.Stop() // avahi sends the goodbye
	waitInstance(t, b, 5*time.Second, "goodbye", func(i mdns.Instance) bool {
		return i.Name == "Living Room Broker" && i.Gone
	})
}

func TestAvahiSeesOurAdvertisementAndItsWithdrawal(t *testing.T) {
	t.Parallel() // a network namespace of its own
	n := mdnstest.New(t)
	av := n.StartAvahi("")
	hubID := uniqueID(t)
	instance := "hubagent " + hubID[4:12]
	_, stop := runStack(t, mdns.Options{Interfaces: []string{n.HostIf}, Services: []string{"_http._tcp"},
		Advertise: &mdns.AdvertiseOptions{Instance: instance, Port: 8443, HubID: hubID, Version: "1.2.3"}})
	// Only our own line counts: another hubagent on the host may announce
	// on this link too.
	ours := func() []string {
		var out []string
		for _, l := range av.Browse("_hubagent._tcp") {
			if strings.Contains(l, `"id=`+hubID+`"`) {
				out = append(out, l)
			}
		}
		return out
	}
	var line string
	testutil.Eventually(t, 20*time.Second, "avahi-browse to resolve our _hubagent._tcp", func() bool {
		if l := ours(); len(l) > 0 {
			line = l[0]
			return true
		}
		return false
	})
	// =;iface;IPv4;name;type;domain;host;address;port;txt
	f := strings.Split(line, ";")
	if len(f) < 10 || f[3] != strings.ReplaceAll(instance, " ", `\032`) || f[6] != "hubagent-"+hubID[:8]+".local" ||
		f[7] != n.HostIP() || f[8] != "8443" {
		t.Fatalf("avahi-browse: %q", line)
	}
	for _, kv := range []string{`"ver=1.2.3"`, `"api=/cic/v1"`} {
		if !strings.Contains(f[9], kv) {
			t.Errorf("TXT %s missing in %q", kv, f[9])
		}
	}
	stop()
	testutil.Eventually(t, 10*time.Second, "withdrawal seen by avahi", func() bool { return len(ours()) == 0 })
}
