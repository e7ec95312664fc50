package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns/dnsmsg"

	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// starAgent runs `hubagent run` alone in the star's central namespace
// (fixed ports are free there) and waits for its local API, which lives
// on a Unix socket in the data directory and so is reachable from the
// test's namespace. It returns the data directory, the hub id and the log.
func starAgent(t *testing.T, s *mdnstest.Star, mdnsConf string) (string, string, *testutil.SyncBuffer) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := fmt.Sprintf("data_dir = %q\n\n[mdns]\n%s\n", data, mdnsConf)
	if err := os.WriteFile(filepath.Join(dir, "hubagent.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := s.Exec(binPath, "run", "--config", filepath.Join(dir, "hubagent.toml"),
		"--api-listen", "0.0.0.0:8443", "--mqtt-listen", "127.0.0.1:1883")
	logs := &testutil.SyncBuffer{}
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, cleanEnv(), logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	var st localapi.Status
	testutil.Eventually(t, 15*time.Second, "the agent's local API", func() bool {
		select {
		case <-done:
			t.Fatalf("agent exited: %s", logs)
		default:
		}
		cl, err := localapi.Dial(context.Background(), data)
		return err == nil && cl.Get(context.Background(), localapi.PathStatus, &st) == nil
	})
	return data, st.HubID, logs
}

// heard reports whether the peer heard a packet (other than its own) that
// names anything of the agent.
func heardOf(p *mdnstest.Peer, self string, needles ...string) []mdnstest.Heard {
	var out []mdnstest.Heard
	for _, h := range p.Heard() {
		if h.From == nil || h.From.IP.String() == self {
			continue
		}
		s := strings.ToLower(h.Msg.String())
		for _, n := range needles {
			if strings.Contains(s, strings.ToLower(n)) {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

func question(name string, qtype uint16, qu bool, id uint16) *dnsmsg.Msg {
	m := new(dnsmsg.Msg)
	m.ID = id
	class := uint16(dnsmsg.ClassINET)
	if qu {
		class |= 1 << 15
	}
	m.Question = []dnsmsg.Question{{Name: name, Qtype: qtype, Qclass: class}}
	return m
}

func httpAnnouncement(name, ip string) *dnsmsg.Msg {
	svc, inst, host := "_http._tcp.local.", name+"._http._tcp.local.", name+".local."
	hdr := func(n string, t uint16) dnsmsg.RRHeader {
		return dnsmsg.RRHeader{Name: n, Rrtype: t, Class: dnsmsg.ClassINET, Ttl: 120}
	}
	m := new(dnsmsg.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = []dnsmsg.RR{&dnsmsg.PTR{Hdr: hdr(svc, dnsmsg.TypePTR), Ptr: inst},
		&dnsmsg.SRV{Hdr: hdr(inst, dnsmsg.TypeSRV), Port: 80, Target: host},
		&dnsmsg.TXT{Hdr: hdr(inst, dnsmsg.TypeTXT), Txt: []string{"x=1"}},
		&dnsmsg.A{Hdr: hdr(host, dnsmsg.TypeA), A: net.ParseIP(ip)}}
	return m
}

// TestAgentConfiguredForLinkAIsNeitherHeardNorListeningOnLinkB is issue
// 13's first "must show": the agent alone in a namespace with links A and
// B, mdns.interfaces = [A]. An independent peer on A (avahi) resolves its
// _hubagent._tcp; a peer on B hears nothing of it, passively or when it
// asks (multicast, unicast-response, one-shot to the group and straight to
// the agent's address on B), although the agent answers the same one-shot
// questions on A and B's link demonstrably carries packets; a service
// announced on B is not listed by `hubagent discovered`, one on A is.
func TestAgentConfiguredForLinkAIsNeitherHeardNorListeningOnLinkB(t *testing.T) {
	t.Parallel()
	star := mdnstest.NewStar(t, 2)
	linkA, linkB := star.Links[0], star.Links[1]
	avA := linkA.StartAvahi("")
	peerB := linkB.Peer()
	tag := strings.TrimPrefix(linkA.Name, "hbt")
	avA.Publish("-s", "on-a-"+tag, "_http._tcp", "80")

	data, hubID, logs := starAgent(t, star, fmt.Sprintf("interfaces = [%q]", linkA.HostIf))
	host := "hubagent-" + hubID[:8]
	needles := []string{hubID, host, "hubagent " + hubID[:8], `hubagent\ ` + hubID[:8]}

	// A: avahi resolves our instance at the agent's address on A.
	testutil.Eventually(t, 20*time.Second, "avahi on A to resolve the agent", func() bool {
		for _, l := range avA.Browse("_hubagent._tcp") {
			if strings.Contains(l, `"id=`+hubID+`"`) && strings.Contains(l, ";"+linkA.HostIP()+";8443;") {
				return true
			}
		}
		return false
	})
	if !strings.Contains(logs.String(), "interfaces="+linkA.HostIf) {
		t.Errorf("the chosen interfaces are not logged: %s", logs)
	}

	// Queries on both links; one-shot answers come back to an ephemeral
	// port, so on A they are ours to see even with avahi on port 5353.
	peerA := linkA.Peer()
	svc := mdns.AgentService + ".local."
	send := func(p *mdnstest.Peer, l *mdnstest.Net) {
		t.Helper()
		for _, err := range []error{
			p.Query(question(svc, dnsmsg.TypePTR, false, 0)),
			p.Query(question(svc, dnsmsg.TypePTR, true, 0)),
			p.Query(question(host+".local.", dnsmsg.TypeA, true, 0)),
			p.LegacyQuery(question(svc, dnsmsg.TypePTR, false, 0x4242), "224.0.0.251:5353"),
			p.LegacyQuery(question(svc, dnsmsg.TypePTR, false, 0x4343), net.JoinHostPort(l.HostIP(), "5353")),
			p.LegacyQuery(question(host+".local.", dnsmsg.TypeA, false, 0x4444), net.JoinHostPort(l.HostIP(), "5353")),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	answeredA := func(id uint16) bool {
		for _, h := range heardOf(peerA, linkA.PeerIP(2), needles...) {
			if h.Msg.Response && h.Msg.ID == id && h.Unicast {
				return true
			}
		}
		return false
	}
	testutil.Eventually(t, 5*time.Second, "one-shot answers on A (group, direct, host address)", func() bool {
		send(peerA, linkA)
		send(peerB, linkB)
		return answeredA(0x4242) && answeredA(0x4343) && answeredA(0x4444)
	})

	// Browsing: announcements on both links, until A's is listed.
	onB := "on-b-" + tag
	listed := func() []mdns.Instance {
		cl, err := localapi.Dial(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		var list []mdns.Instance
		if err := cl.Get(context.Background(), localapi.PathDiscoveredMDNS, &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	testutil.Eventually(t, 10*time.Second, "the service announced on A to be listed", func() bool {
		if err := peerB.Query(httpAnnouncement(onB, linkB.PeerIP(2))); err != nil {
			t.Fatal(err)
		}
		for _, in := range listed() {
			if in.Name == "on-a-"+tag {
				return true
			}
		}
		return false
	})
	// B's link carries packets from the agent's namespace: a control
	// packet sent there from it is heard by B's peer.
	if err := star.Do(func() error {
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(linkB.HostIP())}, &net.UDPAddr{IP: net.ParseIP(linkB.PeerIP(2)), Port: 5353})
		if err != nil {
			return err
		}
		defer c.Close()
		b, _ := question("control-"+tag+".local.", dnsmsg.TypeA, false, 7).Pack()
		_, err = c.Write(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "B's peer to hear the control packet", func() bool {
		return len(heardOf(peerB, linkB.PeerIP(2), "control-"+tag)) > 0
	})

	out, errOut, code := hubagent(t, filepath.Dir(data), "discovered", "--data", data)
	if code != 0 || !strings.Contains(out, "on-a-"+tag) || strings.Contains(out, onB) {
		t.Errorf("discovered (want on-a-%s, not %s): exit %d\n%s%s", tag, onB, code, out, errOut)
	}
	if !strings.Contains(out, "mDNS interfaces (mdns.interfaces): "+linkA.HostIf+" ("+linkA.HostIP()+")") {
		t.Errorf("discovered does not say where mDNS runs:\n%s", out)
	}
	out, _, _ = hubagent(t, filepath.Dir(data), "discovered", "--json", "--data", data)
	var js struct {
		MDNS           []mdns.Instance   `json:"mdns"`
		MDNSInterfaces *mdns.StackStatus `json:"mdnsInterfaces"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("discovered --json: %v: %s", err, out)
	}
	if st := js.MDNSInterfaces; st == nil || len(st.Interfaces) != 1 || st.Interfaces[0].Name != linkA.HostIf ||
		!st.Interfaces[0].Advertising || st.Advertised != "hubagent "+hubID[:8] {
		t.Errorf("discovered --json: mdnsInterfaces = %+v", js.MDNSInterfaces)
	}
	for _, in := range js.MDNS {
		if in.Name == onB {
			t.Errorf("discovered --json lists the service announced on B: %+v", in)
		}
	}
	if got := heardOf(peerB, linkB.PeerIP(2), needles...); len(got) > 0 {
		t.Errorf("B's peer heard the agent %d times; first from %v:\n%v", len(got), got[0].From, got[0].Msg)
	}
}

// TestAgentLeavesThePublicUplinkOutByDefault: with mdns.interfaces empty,
// an interface holding the default route with a public address is not
// used (and says why); the LAN link is, and is told about the agent.
func TestAgentLeavesThePublicUplinkOutByDefault(t *testing.T) {
	t.Parallel()
	star := mdnstest.NewStar(t, 2)
	lan, wan := star.Links[0], star.Links[1]
	star.IP(t, "addr", "flush", "dev", wan.HostIf)
	star.IP(t, "addr", "add", "203.0.113.1/24", "dev", wan.HostIf)
	star.IP(t, "route", "add", "default", "via", "203.0.113.2", "dev", wan.HostIf)
	peerLAN, peerWAN := lan.Peer(), wan.Peer()

	data, hubID, logs := starAgent(t, star, "")
	testutil.Eventually(t, 10*time.Second, "the announcement on the LAN", func() bool {
		return len(heardOf(peerLAN, lan.PeerIP(2), hubID)) > 0
	})
	out, _, code := hubagent(t, filepath.Dir(data), "discovered", "--json", "--data", data)
	var js struct {
		MDNSInterfaces *mdns.StackStatus `json:"mdnsInterfaces"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != 0 {
		t.Fatalf("discovered --json: exit %d, %v: %s", code, err, out)
	}
	st := js.MDNSInterfaces
	if st == nil || st.Configured || len(st.Interfaces) != 1 || st.Interfaces[0].Name != lan.HostIf ||
		len(st.Skipped) != 1 || st.Skipped[0].Name != wan.HostIf || !strings.Contains(st.Skipped[0].Reason, "203.0.113.1") {
		t.Fatalf("mdnsInterfaces = %+v", st)
	}
	out, _, _ = hubagent(t, filepath.Dir(data), "discovered", "--data", data)
	if !strings.Contains(out, "not used: "+wan.HostIf+": holds the default route with public address 203.0.113.1") {
		t.Errorf("discovered does not say the uplink is left out:\n%s", out)
	}
	if !strings.Contains(logs.String(), "skipped=") || !strings.Contains(logs.String(), wan.HostIf) {
		t.Errorf("the left-out uplink is not logged: %s", logs)
	}
	if err := peerWAN.Query(question(mdns.AgentService+".local.", dnsmsg.TypePTR, false, 0)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the agent to answer the same question on the LAN", func() bool {
		if err := peerLAN.Query(question(mdns.AgentService+".local.", dnsmsg.TypePTR, true, 0)); err != nil {
			t.Fatal(err)
		}
		for _, h := range heardOf(peerLAN, lan.PeerIP(2), hubID) {
			if h.Unicast {
				return true
			}
		}
		return false
	})
	if got := heardOf(peerWAN, wan.PeerIP(2), hubID, "hubagent-"+hubID[:8]); len(got) > 0 {
		t.Errorf("the uplink's peer heard the agent: %v", got[0].Msg)
	}
}
