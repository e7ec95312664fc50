package dnsmsg

import (
	"encoding/binary"
	"fmt"
	"net"
)

// Pack returns the message in wire form, names compressed (RFC 1035
// §4.1.4) where the record type allows.
func (m *Msg) Pack() ([]byte, error) {
	b := make([]byte, headerLen, 512)
	binary.BigEndian.PutUint16(b[0:], m.ID)
	var flags uint16
	flags |= uint16(m.Opcode&0xf) << 11
	flags |= uint16(m.Rcode & 0xf)
	for _, f := range []struct {
		set bool
		bit uint16
	}{{m.Response, 1 << 15}, {m.Authoritative, 1 << 10}, {m.Truncated, 1 << 9},
		{m.RecursionDesired, 1 << 8}, {m.RecursionAvailable, 1 << 7}, {m.Zero, 1 << 6},
		{m.AuthenticatedData, 1 << 5}, {m.CheckingDisabled, 1 << 4}} {
		if f.set {
			flags |= f.bit
		}
	}
	binary.BigEndian.PutUint16(b[2:], flags)
	for i, n := range []int{len(m.Question), len(m.Answer), len(m.Ns), len(m.Extra)} {
		if n > 0xffff {
			return nil, fmt.Errorf("dnsmsg: %d entries in one section", n)
		}
		binary.BigEndian.PutUint16(b[4+2*i:], uint16(n))
	}
	comp := map[string]int{}
	var err error
	for _, q := range m.Question {
		if b, err = appendName(b, q.Name, comp); err != nil {
			return nil, err
		}
		b = binary.BigEndian.AppendUint16(b, q.Qtype)
		b = binary.BigEndian.AppendUint16(b, q.Qclass)
	}
	for _, sec := range [][]RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if b, err = appendRR(b, rr, comp); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// Len returns the packed size of the message, 0 when it does not pack.
func (m *Msg) Len() int {
	b, err := m.Pack()
	if err != nil {
		return 0
	}
	return len(b)
}

func appendRR(b []byte, rr RR, comp map[string]int) ([]byte, error) {
	h := rr.Header()
	b, err := appendName(b, h.Name, comp)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, h.Rrtype)
	b = binary.BigEndian.AppendUint16(b, h.Class)
	b = binary.BigEndian.AppendUint32(b, h.Ttl)
	lenAt := len(b)
	b = append(b, 0, 0)
	if b, err = rr.packData(b, comp); err != nil {
		return nil, fmt.Errorf("dnsmsg: %s record %s: %w", TypeString(h.Rrtype), h.Name, err)
	}
	n := len(b) - lenAt - 2
	if n > 0xffff {
		return nil, errRdlength
	}
	binary.BigEndian.PutUint16(b[lenAt:], uint16(n))
	return b, nil
}

// Unpack reads a message. As with miekg/dns, header counts larger than the
// message are tolerated when the message ends exactly after a whole entry;
// a record that does not parse fails the message.
func (m *Msg) Unpack(msg []byte) error {
	*m = Msg{}
	if len(msg) < headerLen {
		return errShort
	}
	m.ID = binary.BigEndian.Uint16(msg[0:])
	flags := binary.BigEndian.Uint16(msg[2:])
	m.Response = flags&(1<<15) != 0
	m.Opcode = int(flags>>11) & 0xf
	m.Authoritative = flags&(1<<10) != 0
	m.Truncated = flags&(1<<9) != 0
	m.RecursionDesired = flags&(1<<8) != 0
	m.RecursionAvailable = flags&(1<<7) != 0
	m.Zero = flags&(1<<6) != 0
	m.AuthenticatedData = flags&(1<<5) != 0
	m.CheckingDisabled = flags&(1<<4) != 0
	m.Rcode = int(flags & 0xf)
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	counts := []int{int(binary.BigEndian.Uint16(msg[6:])), int(binary.BigEndian.Uint16(msg[8:])),
		int(binary.BigEndian.Uint16(msg[10:]))}
	off := headerLen
	// The counts are the sender's word: nothing is allocated from them.
	for i := 0; i < qd && off < len(msg); i++ {
		name, next, err := readName(msg, off)
		if err != nil {
			return err
		}
		if next+4 > len(msg) {
			return errShort
		}
		m.Question = append(m.Question, Question{Name: name, Qtype: binary.BigEndian.Uint16(msg[next:]),
			Qclass: binary.BigEndian.Uint16(msg[next+2:])})
		off = next + 4
	}
	secs := []*[]RR{&m.Answer, &m.Ns, &m.Extra}
	for s, sec := range secs {
		for i := 0; i < counts[s] && off < len(msg); i++ {
			rr, next, err := readRR(msg, off)
			if err != nil {
				return err
			}
			*sec = append(*sec, rr)
			off = next
		}
	}
	return nil
}

func readRR(msg []byte, off int) (RR, int, error) {
	name, off, err := readName(msg, off)
	if err != nil {
		return nil, 0, err
	}
	if off+10 > len(msg) {
		return nil, 0, errShort
	}
	h := RRHeader{Name: name, Rrtype: binary.BigEndian.Uint16(msg[off:]),
		Class: binary.BigEndian.Uint16(msg[off+2:]), Ttl: binary.BigEndian.Uint32(msg[off+4:])}
	rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
	off += 10
	end := off + rdlen
	if end > len(msg) {
		return nil, 0, errShort
	}
	if rdlen == 0 {
		// No data (a question-like record, as miekg/dns also accepted):
		// kept as raw, so no type-specific code sees an empty address.
		return &Raw{Hdr: h}, end, nil
	}
	var rr RR
	switch h.Rrtype {
	case TypePTR:
		ptr, next, err := readName(msg, off)
		if err != nil {
			return nil, 0, err
		}
		if next != end {
			return nil, 0, errRdlength
		}
		rr = &PTR{Hdr: h, Ptr: ptr}
	case TypeSRV:
		if rdlen < 7 {
			return nil, 0, errRdlength
		}
		target, next, err := readName(msg, off+6)
		if err != nil {
			return nil, 0, err
		}
		if next != end {
			return nil, 0, errRdlength
		}
		rr = &SRV{Hdr: h, Priority: binary.BigEndian.Uint16(msg[off:]), Weight: binary.BigEndian.Uint16(msg[off+2:]),
			Port: binary.BigEndian.Uint16(msg[off+4:]), Target: target}
	case TypeTXT:
		t := &TXT{Hdr: h}
		for p := off; p < end; {
			n := int(msg[p])
			if p+1+n > end {
				return nil, 0, errRdlength
			}
			t.Txt = append(t.Txt, escapeTXT(msg[p+1:p+1+n]))
			p += 1 + n
		}
		rr = t
	case TypeA:
		if rdlen != 4 {
			return nil, 0, errRdlength
		}
		rr = &A{Hdr: h, A: net.IPv4(msg[off], msg[off+1], msg[off+2], msg[off+3])}
	default:
		rr = &Raw{Hdr: h, Data: append([]byte(nil), msg[off:end]...)}
	}
	return rr, end, nil
}
