package enroll

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/enrollwire"
)

// Options of an enrollment.
type Options struct {
	URL     string // the relay's enrollment service, https://...
	Token   string // one-time token from the relay's operator; may be empty for a key rotation
	CAFile  string // PEM bundle that replaces the system roots (private CAs); "" = system roots
	DataDir string
	HubID   string
	KeyFile string // the hub's tunnel key; rotated by every enrollment
	Timeout time.Duration
	// Transport, if set, replaces the HTTP transport (tests).
	Transport http.RoundTripper
}

// RefusedError is the relay declining, with its reason.
type RefusedError struct {
	Status int
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the relay refused (HTTP %d): %s", e.Status, e.Reason)
}

// client is an HTTPS client that verifies the relay's certificate.
func client(o *Options) (*http.Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Transport != nil {
		return &http.Client{Timeout: o.Timeout, Transport: o.Transport}, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	return &http.Client{Timeout: o.Timeout, Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil},
		// The enrollment answer configures the tunnel: never follow a
		// redirect to somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// CheckURL accepts only an https URL without query or credentials.
func CheckURL(raw string) (string, error) {
	if len(raw) > enrollwire.MaxURL {
		return "", fmt.Errorf("URL longer than %d characters", enrollwire.MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("URL %q: want https://HOST[:PORT][/PATH], no credentials, query or fragment", raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func post(ctx context.Context, hc *http.Client, u string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("relay %s: %w", u, err)
	}
	return resp, nil
}

func refused(resp *http.Response) error {
	var a enrollwire.ErrorAnswer
	b, _ := io.ReadAll(io.LimitReader(resp.Body, enrollwire.MaxBody))
	if json.Unmarshal(b, &a) != nil || a.Error == "" {
		a.Error = http.StatusText(resp.StatusCode)
	}
	if len(a.Error) > enrollwire.MaxErrorMsg {
		a.Error = a.Error[:enrollwire.MaxErrorMsg]
	}
	return &RefusedError{Status: resp.StatusCode, Reason: strings.ToValidUTF8(a.Error, "?")}
}

// Enroll enrolls the hub (or re-enrolls it, rotating its key): a new key
// is made next to the current one and sent with a proof by the current
// key, so the relay lets this hub, and only it, change its key. Only when
// the relay accepts are the new key and the answer put in place.
func Enroll(ctx context.Context, o Options) (*State, error) {
	base, err := CheckURL(o.URL)
	if err != nil {
		return nil, err
	}
	if o.Token != "" && !enrollwire.ValidToken(o.Token) {
		return nil, errors.New("the token is malformed (copy it whole from 'hubagent relay token create')")
	}
	hc, err := client(&o)
	if err != nil {
		return nil, err
	}
	prev, err := Load(o.DataDir)
	if err != nil {
		prev = nil // a damaged enrollment is replaced by a new one
	}
	newPath := o.KeyFile + ".new"
	os.Remove(newPath)
	newKey, err := tunnel.LoadOrCreateKey(newPath, "hubagent-"+o.HubID)
	if err != nil {
		return nil, err
	}
	defer os.Remove(newPath)
	req := enrollwire.EnrollRequest{HubID: o.HubID, PublicKey: enrollwire.KeyString(newKey.PublicKey()), Token: o.Token}
	if prev != nil {
		if old, err := tunnel.LoadOrCreateKey(o.KeyFile, "hubagent-"+o.HubID); err == nil {
			sig, err := old.Sign(rand.Reader, enrollwire.EnrollMessage(o.HubID, req.PublicKey))
			if err != nil {
				return nil, fmt.Errorf("sign with the current key: %w", err)
			}
			req.Proof = enrollwire.EncodeProof(sig)
		}
	}
	if req.Token == "" && req.Proof == "" {
		return nil, errors.New("a token is required: this hub is not enrolled yet (ask the relay's operator for one: 'hubagent relay token create')")
	}
	resp, err := post(ctx, hc, base+enrollwire.PathEnroll, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, refused(resp)
	}
	e, err := enrollwire.DecodeEnrollment(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("the relay's answer: %w", err)
	}
	if e.HubID != o.HubID {
		return nil, fmt.Errorf("the relay answered for hub %s, not this hub %s", e.HubID, o.HubID)
	}
	if err := os.Rename(newPath, o.KeyFile); err != nil {
		return nil, fmt.Errorf("tunnel key: %w", err)
	}
	s := &State{Enrollment: *e, URL: base, CAFile: o.CAFile, EnrolledAt: time.Now().UTC()}
	if err := save(o.DataDir, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Leave deregisters the hub with proof by its key, then forgets the
// enrollment. force forgets it even when the relay cannot be told.
func Leave(ctx context.Context, o Options, force bool) error {
	s, err := Load(o.DataDir)
	if err != nil && !force {
		return err
	}
	if s == nil {
		if force {
			return Forget(o.DataDir)
		}
		return errors.New("this hub is not enrolled with a relay")
	}
	if o.CAFile == "" {
		o.CAFile = s.CAFile
	}
	lerr := tellLeave(ctx, o, s)
	if lerr != nil && !force {
		return lerr
	}
	return Forget(o.DataDir)
}

func tellLeave(ctx context.Context, o Options, s *State) error {
	hc, err := client(&o)
	if err != nil {
		return err
	}
	key, err := tunnel.LoadOrCreateKey(o.KeyFile, "hubagent-"+s.HubID)
	if err != nil {
		return err
	}
	at := time.Now().Unix()
	sig, err := key.Sign(rand.Reader, enrollwire.LeaveMessage(s.HubID, at))
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	resp, err := post(ctx, hc, s.URL+enrollwire.PathLeave, enrollwire.LeaveRequest{HubID: s.HubID, At: at, Proof: enrollwire.EncodeProof(sig)})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return refused(resp)
	}
	return nil
}
