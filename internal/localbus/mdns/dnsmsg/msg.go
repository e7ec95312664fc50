// Package dnsmsg is the small DNS message codec of the mDNS stack: the
// header, questions, and the record types mDNS and DNS-SD use (PTR, SRV,
// TXT, A; any other type is kept as raw data), with name compression on
// read and write.
//
// It replaces github.com/miekg/dns, which cost the gateway binary about
// 1 MB for the few types used here. Names and TXT strings are held in the
// presentation form miekg/dns used ("my\ lamp._http._tcp.local.", \DDD
// for unprintable bytes), so names heard on the wire compare and display
// as before.
package dnsmsg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Record types, classes, opcodes and rcodes used by mDNS.
const (
	TypeA    uint16 = 1
	TypePTR  uint16 = 12
	TypeTXT  uint16 = 16
	TypeAAAA uint16 = 28
	TypeSRV  uint16 = 33
	TypeNSEC uint16 = 47
	TypeANY  uint16 = 255

	ClassINET  uint16 = 1
	ClassCHAOS uint16 = 3
	ClassANY   uint16 = 255

	OpcodeQuery  = 0
	RcodeSuccess = 0
)

// Bounds of the wire format (RFC 1035 §2.3.4) and of hostile input.
const (
	maxNameWire = 255
	maxLabel    = 63
	// maxPointers bounds the compression pointers followed in one name,
	// so that a loop of pointers ends.
	maxPointers = 126
	headerLen   = 12
)

var (
	errShort    = errors.New("dnsmsg: message too short")
	errLongName = errors.New("dnsmsg: name longer than 255 bytes")
	errLabel    = errors.New("dnsmsg: bad label")
	errPointers = errors.New("dnsmsg: too many compression pointers")
	errRdlength = errors.New("dnsmsg: bad rdlength")
	errNotFQDN  = errors.New("dnsmsg: name must be fully qualified")
)

// MsgHdr is the message header, flags as booleans.
type MsgHdr struct {
	ID                 uint16
	Response           bool
	Opcode             int
	Authoritative      bool
	Truncated          bool
	RecursionDesired   bool
	RecursionAvailable bool
	Zero               bool
	AuthenticatedData  bool
	CheckingDisabled   bool
	Rcode              int
}

// Msg is one DNS message.
type Msg struct {
	MsgHdr
	Question []Question
	Answer   []RR
	Ns       []RR
	Extra    []RR
}

// Question is one entry of the question section. In mDNS the top bit of
// Qclass asks for a unicast response.
type Question struct {
	Name   string
	Qtype  uint16
	Qclass uint16
}

// RRHeader is the part every record shares. In mDNS responses the top bit
// of Class is the cache-flush bit.
type RRHeader struct {
	Name   string
	Rrtype uint16
	Class  uint16
	Ttl    uint32
}

// Header returns the header itself, so that records embedding it satisfy
// RR.
func (h *RRHeader) Header() *RRHeader { return h }

// RR is one resource record.
type RR interface {
	Header() *RRHeader
	String() string
	// packData appends the record data in wire form; c compresses names
	// where the type allows it, and is nil for the canonical form.
	packData(b []byte, c map[string]int) ([]byte, error)
	copyRR() RR
}

// PTR points a name at another (RFC 1035 §3.3.12).
type PTR struct {
	Hdr RRHeader
	Ptr string
}

// SRV names the host and port of a service (RFC 2782).
type SRV struct {
	Hdr      RRHeader
	Priority uint16
	Weight   uint16
	Port     uint16
	Target   string
}

// TXT holds character-strings, each in presentation form.
type TXT struct {
	Hdr RRHeader
	Txt []string
}

// A holds an IPv4 address.
type A struct {
	Hdr RRHeader
	A   net.IP
}

// Raw is a record of any other type, its data as it was on the wire.
type Raw struct {
	Hdr  RRHeader
	Data []byte
}

func (r *PTR) Header() *RRHeader { return &r.Hdr }
func (r *SRV) Header() *RRHeader { return &r.Hdr }
func (r *TXT) Header() *RRHeader { return &r.Hdr }
func (r *A) Header() *RRHeader   { return &r.Hdr }
func (r *Raw) Header() *RRHeader { return &r.Hdr }

func (r *PTR) copyRR() RR { c := *r; return &c }
func (r *SRV) copyRR() RR { c := *r; return &c }
func (r *TXT) copyRR() RR {
	c := *r
	c.Txt = append([]string(nil), r.Txt...)
	return &c
}
func (r *A) copyRR() RR {
	c := *r
	c.A = append(net.IP(nil), r.A...)
	return &c
}
func (r *Raw) copyRR() RR {
	c := *r
	c.Data = append([]byte(nil), r.Data...)
	return &c
}

// Copy returns a deep copy of a record.
func Copy(rr RR) RR { return rr.copyRR() }

func (r *PTR) packData(b []byte, c map[string]int) ([]byte, error) {
	return appendName(b, r.Ptr, c)
}

func (r *SRV) packData(b []byte, _ map[string]int) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, r.Priority)
	b = binary.BigEndian.AppendUint16(b, r.Weight)
	b = binary.BigEndian.AppendUint16(b, r.Port)
	// Not compressed, as RFC 2782 asks; mDNS readers accept both.
	return appendName(b, r.Target, nil)
}

func (r *TXT) packData(b []byte, _ map[string]int) ([]byte, error) {
	if len(r.Txt) == 0 {
		return append(b, 0), nil // one empty string (RFC 6763 §6.1)
	}
	for _, s := range r.Txt {
		raw := unescape(s)
		if len(raw) > 255 {
			return nil, errors.New("dnsmsg: TXT string longer than 255 bytes")
		}
		b = append(append(b, byte(len(raw))), raw...)
	}
	return b, nil
}

func (r *A) packData(b []byte, _ map[string]int) ([]byte, error) {
	ip := r.A.To4()
	if ip == nil {
		return nil, fmt.Errorf("dnsmsg: A record with address %v", r.A)
	}
	return append(b, ip...), nil
}

func (r *Raw) packData(b []byte, _ map[string]int) ([]byte, error) {
	return append(b, r.Data...), nil
}

// Rdata returns a record's data in canonical wire form (names not
// compressed), as the probe tie-break compares it (RFC 6762 §8.2).
func Rdata(rr RR) ([]byte, error) { return rr.packData(nil, nil) }

// Fqdn returns name with a trailing dot.
func Fqdn(name string) string {
	if isFqdn(name) {
		return name
	}
	return name + "."
}

// isFqdn reports whether name ends in a dot that is not escaped.
func isFqdn(name string) bool {
	s := strings.TrimSuffix(name, ".")
	if s == name {
		return false
	}
	i := strings.LastIndexFunc(s, func(r rune) bool { return r != '\\' })
	return (len(s)-i)%2 != 0
}

// TypeString names a record type for display.
func TypeString(t uint16) string {
	switch t {
	case TypeA:
		return "A"
	case TypePTR:
		return "PTR"
	case TypeTXT:
		return "TXT"
	case TypeAAAA:
		return "AAAA"
	case TypeSRV:
		return "SRV"
	case TypeNSEC:
		return "NSEC"
	case TypeANY:
		return "ANY"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func classString(c uint16) string {
	switch c {
	case ClassINET:
		return "IN"
	case ClassCHAOS:
		return "CH"
	case ClassANY:
		return "ANY"
	}
	return "CLASS" + strconv.Itoa(int(c))
}

func (h *RRHeader) string() string {
	return h.Name + "\t" + strconv.FormatUint(uint64(h.Ttl), 10) + "\t" + classString(h.Class) + "\t" +
		TypeString(h.Rrtype) + "\t"
}

func (r *PTR) String() string { return r.Hdr.string() + r.Ptr }
func (r *SRV) String() string {
	return r.Hdr.string() + fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, r.Target)
}
func (r *TXT) String() string {
	q := make([]string, len(r.Txt))
	for i, s := range r.Txt {
		q[i] = `"` + s + `"`
	}
	return r.Hdr.string() + strings.Join(q, " ")
}
func (r *A) String() string   { return r.Hdr.string() + r.A.String() }
func (r *Raw) String() string { return r.Hdr.string() + fmt.Sprintf(`\# %d %x`, len(r.Data), r.Data) }

// String renders the message for logs and tests, one record a line.
func (m *Msg) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, ";; opcode: %d, rcode: %d, id: %d, qr: %t, aa: %t\n", m.Opcode, m.Rcode, m.ID,
		m.Response, m.Authoritative)
	for _, q := range m.Question {
		fmt.Fprintf(&b, ";%s\t%s\t%s\n", q.Name, classString(q.Qclass), TypeString(q.Qtype))
	}
	for _, sec := range [][]RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			b.WriteString(rr.String())
			b.WriteByte('\n')
		}
	}
	return b.String()
}
