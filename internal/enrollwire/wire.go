// Package enrollwire is the wire format between a hub enrolling with a
// relay (hubagent tunnel enroll / leave) and the relay's enrollment service
// (hubagent relay serve): the JSON documents, their limits, and the proofs a
// hub signs with the key the relay already knows for it.
package enrollwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Paths of the enrollment service.
const (
	PathEnroll = "/v1/enroll"
	PathLeave  = "/v1/leave"
)

// Limits on what either side accepts.
const (
	MaxBody     = 16 << 10 // bytes of any request or answer
	MaxToken    = 128
	MaxKey      = 2048 // an authorized_keys line
	MaxProof    = 1024
	MaxHostKey  = 2048
	MaxURL      = 512
	MaxRelay    = 300
	MaxUser     = 32
	MaxErrorMsg = 300
)

// EnrollRequest is POSTed by a hub to PathEnroll.
type EnrollRequest struct {
	HubID     string `json:"hubId"`
	PublicKey string `json:"publicKey"` // authorized_keys format, no options
	// Token is an operator-made enrollment token; it may be left out when
	// Proof shows the hub holds the key the relay knows for it (a key
	// rotation).
	Token string `json:"token,omitempty"`
	// Proof is a signature (base64 of the SSH signature blob) by the key
	// the relay has on record for HubID over EnrollMessage. Required when
	// the hub is already enrolled: a hub id is public (it is in the hub's
	// address), so knowing it is not enough to take it over.
	Proof string `json:"proof,omitempty"`
}

// Enrollment is the relay's answer: everything the hub needs to bring its
// tunnel up. It names only the enrolling hub.
type Enrollment struct {
	HubID        string `json:"hubId"`
	RelayName    string `json:"relayName"`
	Relay        string `json:"relay"` // host:port of the relay's sshd
	User         string `json:"user"`
	HostKey      string `json:"hostKey"`      // the relay's sshd host key, authorized_keys format
	RemoteListen string `json:"remoteListen"` // 127.0.0.1:PORT on the relay
	PublicURL    string `json:"publicUrl"`
}

// LeaveRequest is POSTed by a hub to PathLeave to deregister itself.
type LeaveRequest struct {
	HubID string `json:"hubId"`
	At    int64  `json:"at"` // unix seconds; the relay accepts a few minutes of skew
	Proof string `json:"proof"`
}

// ErrorAnswer is the body of every non-2xx answer.
type ErrorAnswer struct {
	Error string `json:"error"`
}

// ValidHubID says whether id has the form of a hub id (16 hex digits).
func ValidHubID(id string) bool { return isHubID(id) }

// ValidToken says whether tok has the form of an enrollment token.
func ValidToken(tok string) bool { return isToken(tok) }

// ParseKey reads a hub's public key (authorized_keys format, no options)
// and refuses kinds a relay does not accept: ed25519 and ECDSA P-256 only.
func ParseKey(s string) (ssh.PublicKey, error) {
	if len(s) > MaxKey {
		return nil, fmt.Errorf("public key longer than %d bytes", MaxKey)
	}
	k, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if len(opts) > 0 || len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("public key: want one key without options")
	}
	switch k.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256:
		return k, nil
	}
	return nil, fmt.Errorf("public key type %s not accepted (ed25519 or ecdsa-sha2-nistp256)", k.Type())
}

// KeyString is k in authorized_keys form without a comment.
func KeyString(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// EnrollMessage is what a rotating hub signs with its current key.
func EnrollMessage(hubID, newKey string) []byte {
	return []byte("hubagent-enroll-v1\n" + hubID + "\n" + newKey + "\n")
}

// LeaveMessage is what a leaving hub signs with its key.
func LeaveMessage(hubID string, at int64) []byte {
	return []byte("hubagent-leave-v1\n" + hubID + "\n" + strconv.FormatInt(at, 10) + "\n")
}

// EncodeProof encodes a signature for the Proof fields.
func EncodeProof(sig *ssh.Signature) string {
	return base64.StdEncoding.EncodeToString(ssh.Marshal(sig))
}

// VerifyProof checks proof against key and msg.
func VerifyProof(key ssh.PublicKey, msg []byte, proof string) error {
	if proof == "" {
		return errors.New("no proof")
	}
	if len(proof) > MaxProof {
		return fmt.Errorf("proof longer than %d bytes", MaxProof)
	}
	raw, err := base64.StdEncoding.DecodeString(proof)
	if err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(raw, &sig); err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	if err := key.Verify(msg, &sig); err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	return nil
}

// decode reads one JSON document of at most MaxBody bytes, refusing
// unknown fields and trailing data.
func decode(r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return err
	}
	if len(b) > MaxBody {
		return fmt.Errorf("document larger than %d bytes", MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a valid document: %w", err)
	}
	if dec.More() {
		return errors.New("trailing data after the document")
	}
	return nil
}

// DecodeEnrollRequest reads and checks an enrollment request.
func DecodeEnrollRequest(r io.Reader) (*EnrollRequest, ssh.PublicKey, error) {
	var req EnrollRequest
	if err := decode(r, &req); err != nil {
		return nil, nil, err
	}
	if !ValidHubID(req.HubID) {
		return nil, nil, errors.New("hubId must be 16 lowercase hex digits")
	}
	k, err := ParseKey(req.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	if req.Token == "" && req.Proof == "" {
		return nil, nil, errors.New("a token is required")
	}
	if req.Token != "" && !ValidToken(req.Token) {
		return nil, nil, errors.New("token is malformed")
	}
	if len(req.Proof) > MaxProof {
		return nil, nil, fmt.Errorf("proof longer than %d bytes", MaxProof)
	}
	return &req, k, nil
}

// DecodeLeaveRequest reads and checks a leave request.
func DecodeLeaveRequest(r io.Reader) (*LeaveRequest, error) {
	var req LeaveRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if !ValidHubID(req.HubID) {
		return nil, errors.New("hubId must be 16 lowercase hex digits")
	}
	if req.Proof == "" || len(req.Proof) > MaxProof {
		return nil, errors.New("proof missing or too long")
	}
	return &req, nil
}

// DecodeEnrollment reads and checks a relay's answer on the hub: every
// field is used to configure the tunnel, so each is held to its form.
func DecodeEnrollment(r io.Reader) (*Enrollment, error) {
	var e Enrollment
	if err := decode(r, &e); err != nil {
		return nil, err
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return &e, nil
}

// Check holds every field of an enrollment to its form (also when it is
// read back from the data directory).
func (e *Enrollment) Check() error {
	if !ValidHubID(e.HubID) {
		return errors.New("enrollment: hubId is malformed")
	}
	if !isRelay(e.Relay) || !strings.Contains(e.Relay, ":") {
		return errors.New("enrollment: relay must be host:port")
	}
	if e.RelayName == "" || len(e.RelayName) > 64 {
		return errors.New("enrollment: relayName missing or too long")
	}
	if !isUser(e.User) {
		return errors.New("enrollment: user is malformed")
	}
	if len(e.HostKey) > MaxHostKey {
		return errors.New("enrollment: hostKey too long")
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(e.HostKey)); err != nil {
		return fmt.Errorf("enrollment: hostKey: %w", err)
	}
	port, ok := listenPort(e.RemoteListen)
	if !ok {
		return errors.New("enrollment: remoteListen must be 127.0.0.1:PORT")
	}
	if p, _ := strconv.Atoi(port); p < 1024 || p > 65535 {
		return errors.New("enrollment: remoteListen port out of range")
	}
	if len(e.PublicURL) > MaxURL || !isPublicURL(e.PublicURL) {
		return errors.New("enrollment: publicUrl must be an https URL of a host name")
	}
	return nil
}

// ParseHostKey reads a relay's host key (a .pub file or authorized_keys
// line) and returns it without comment.
func ParseHostKey(s string) (string, error) {
	if len(s) > MaxHostKey {
		return "", fmt.Errorf("host key longer than %d bytes", MaxHostKey)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return "", fmt.Errorf("host key: %w", err)
	}
	return KeyString(k), nil
}
