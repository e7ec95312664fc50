package dnsmsg

import (
	"bytes"
	"net"
	"reflect"
	"strings"
	"testing"
)

// avahiAnnouncement is what avahi-daemon 0.8 multicast when publishing
// "Cap Printer" as _ipp._tcp on port 631 (also a FuzzResponderPacket seed).
const avahiAnnouncement = "\x00\x00\x84\x00\x00\x00\x00\x05\x00\x00\x00\x00\vCap Printer\x04_ipp\x04_tcp\x05local\x00\x00\x10\x80\x01\x00\x00\x11\x94\x00\x01\x00\xc0\x18\x00\f\x00\x01\x00\x00\x11\x94\x00\x02\xc0\f\xc0\f\x00!\x80\x01\x00\x00\x00x\x00\x18\x00\x00\x00\x00\x02w\x0fhbtf087ae-avahi\xc0\"\xc0T\x00\x01\x80\x01\x00\x00\x00x\x00\x04\n\xfa\x91\x02\t_services\a_dns-sd\x04_udp\xc0\"\x00\f\x00\x01\x00\x00\x11\x94\x00\x02\xc0\x18"

func TestUnpackReadsAvahisCompressedAnnouncement(t *testing.T) {
	m := new(Msg)
	if err := m.Unpack([]byte(avahiAnnouncement)); err != nil {
		t.Fatal(err)
	}
	if !m.Response || !m.Authoritative || len(m.Answer) != 5 || len(m.Question) != 0 {
		t.Fatalf("header or counts wrong: %+v", m.MsgHdr)
	}
	const inst = `Cap\ Printer._ipp._tcp.local.`
	want := []string{
		inst + "\t4500\tCLASS32769\tTXT\t\"\"",
		"_ipp._tcp.local.\t4500\tIN\tPTR\t" + inst,
		inst + "\t120\tCLASS32769\tSRV\t0 0 631 hbtf087ae-avahi.local.",
		"hbtf087ae-avahi.local.\t120\tCLASS32769\tA\t10.250.145.2",
		"_services._dns-sd._udp.local.\t4500\tIN\tPTR\t_ipp._tcp.local.",
	}
	for i, rr := range m.Answer {
		if got := rr.String(); got != want[i] {
			t.Errorf("answer %d = %q, want %q", i, got, want[i])
		}
	}
}

// The layout of RFC 1035 §4.1.4: FOO.F.ISI.ARPA written as FOO and a
// pointer to F.ISI.ARPA, ARPA as a pointer alone.
func TestPackCompressesAsRFC1035Shows(t *testing.T) {
	m := &Msg{Question: []Question{{Name: "F.ISI.ARPA.", Qtype: TypePTR, Qclass: ClassINET}},
		Answer: []RR{&PTR{Hdr: RRHeader{Name: "FOO.F.ISI.ARPA.", Rrtype: TypePTR, Class: ClassINET, Ttl: 1}, Ptr: "ARPA."}}}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00" +
		"\x01F\x03ISI\x04ARPA\x00\x00\x0c\x00\x01" + // question at 12; ARPA at 18
		"\x03FOO\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x01\x00\x02\xc0\x12")
	if !bytes.Equal(b, want) {
		t.Fatalf("packed\n%q\nwant\n%q", b, want)
	}
	back := new(Msg)
	if err := back.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip: %v, want %v", back, m)
	}
}

func TestHostileNamesAreErrorsNotHangs(t *testing.T) {
	hdr := "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	long := strings.Repeat("\x3f"+strings.Repeat("a", 63), 4) + "\x00\x00\x01\x00\x01"
	for name, pkt := range map[string]string{
		"pointer to itself":      hdr + "\xc0\x0c\x00\x01\x00\x01",
		"two pointers in a loop": hdr + "\x01a\xc0\x0e\xc0\x0c\x00\x01\x00\x01",
		"name over 255 bytes":    hdr + long,
		"reserved label type":    hdr + "\x40a\x00\x00\x01\x00\x01",
		"label past the end":     hdr + "\x3fabc",
		"pointer past the end":   hdr + "\xc0\xff\x00\x01\x00\x01",
		"question cut short":     hdr + "\x00\x00",
		"header cut short":       hdr[:11],
	} {
		if err := new(Msg).Unpack([]byte(pkt)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestBadRecordDataIsAnError(t *testing.T) {
	hdr := "\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\x01h\x00"
	for name, rest := range map[string]string{
		"A of 3 bytes":           "\x00\x01\x00\x01\x00\x00\x00\x78\x00\x03\x0a\x00\x00",
		"rdlength past the end":  "\x00\x01\x00\x01\x00\x00\x00\x78\x00\x09\x0a\x00\x00\x01",
		"TXT string past rdata":  "\x00\x10\x00\x01\x00\x00\x00\x78\x00\x02\x05a",
		"PTR shorter than name":  "\x00\x0c\x00\x01\x00\x00\x00\x78\x00\x01\x01a\x00",
		"SRV without its target": "\x00\x21\x00\x01\x00\x00\x00\x78\x00\x06\x00\x00\x00\x00\x00\x50",
	} {
		if err := new(Msg).Unpack([]byte(hdr + rest)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Names and TXT strings are in miekg/dns's presentation form: special
// characters escaped with a backslash, unprintable bytes as \DDD.
func TestPresentationFormRoundTrips(t *testing.T) {
	name := `my\ lamp\.v2\007\"x\\._http._tcp.local.`
	txt := []string{`k="v"`, `back\\slash`, `bell\007`}
	m := &Msg{MsgHdr: MsgHdr{ID: 7, Response: true},
		Answer: []RR{&TXT{Hdr: RRHeader{Name: name, Rrtype: TypeTXT, Class: ClassINET | 1<<15, Ttl: 4500}, Txt: txt},
			&A{Hdr: RRHeader{Name: "h.local.", Rrtype: TypeA, Class: ClassINET, Ttl: 120}, A: net.IPv4(10, 0, 0, 3)}}}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\x0emy lamp.v2\x07\"x\\")) || !bytes.Contains(b, []byte("\x05k=\"v\"\x0aback\\slash\x05bell\x07")) {
		t.Fatalf("wire form wrong: %q", b)
	}
	back := new(Msg)
	if err := back.Unpack(b); err != nil {
		t.Fatal(err)
	}
	got := back.Answer[0].(*TXT)
	if got.Hdr.Name != name || !reflect.DeepEqual(got.Txt, []string{`k=\"v\"`, `back\\slash`, `bell\007`}) {
		t.Fatalf("read back %q %q", got.Hdr.Name, got.Txt)
	}
	if a := back.Answer[1].(*A); !a.A.Equal(net.IPv4(10, 0, 0, 3)) {
		t.Fatalf("A = %v", a.A)
	}
}

func TestPackRefusesWhatTheWireCannotCarry(t *testing.T) {
	for name, rr := range map[string]RR{
		"relative name":      &PTR{Hdr: RRHeader{Name: "local", Rrtype: TypePTR}, Ptr: "x.local."},
		"label over 63":      &PTR{Hdr: RRHeader{Name: strings.Repeat("a", 64) + ".local.", Rrtype: TypePTR}, Ptr: "x."},
		"empty label":        &PTR{Hdr: RRHeader{Name: "a..local.", Rrtype: TypePTR}, Ptr: "x."},
		"TXT string of 256":  &TXT{Hdr: RRHeader{Name: "a.local.", Rrtype: TypeTXT}, Txt: []string{strings.Repeat("x", 256)}},
		"IPv6 address in A":  &A{Hdr: RRHeader{Name: "a.local.", Rrtype: TypeA}, A: net.ParseIP("fe80::1")},
		"escape beyond byte": &PTR{Hdr: RRHeader{Name: `a\300.local.`, Rrtype: TypePTR}, Ptr: "x."},
	} {
		if _, err := (&Msg{Answer: []RR{rr}}).Pack(); err == nil {
			t.Errorf("%s: packed", name)
		}
	}
}

func TestFqdnLeavesAnEscapedDotAlone(t *testing.T) {
	for in, want := range map[string]string{"a.local": "a.local.", "a.local.": "a.local.", `a\.`: `a\..`, `a\\.`: `a\\.`} {
		if got := Fqdn(in); got != want {
			t.Errorf("Fqdn(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzUnpack: any packet either fails to parse or parses into records
// that pack and read back the same (those of a type kept raw may hold
// compression pointers into the original packet, so they are skipped).
func FuzzUnpack(f *testing.F) {
	f.Add([]byte(avahiAnnouncement))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(Msg)
		if m.Unpack(b) != nil {
			return
		}
		for _, sec := range [][]RR{m.Answer, m.Ns, m.Extra} {
			for _, rr := range sec {
				if _, raw := rr.(*Raw); raw {
					return
				}
			}
		}
		p, err := m.Pack()
		if err != nil {
			t.Fatalf("parsed but does not pack: %v\n%v", err, m)
		}
		back := new(Msg)
		if err := back.Unpack(p); err != nil {
			t.Fatalf("own packing does not parse: %v", err)
		}
		if back.String() != m.String() {
			t.Fatalf("round trip changed the message:\n%v\n%v", m, back)
		}
	})
}
