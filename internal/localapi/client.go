package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// ErrNotRunning means no agent answers on the data directory's socket.
var ErrNotRunning = errors.New("localapi: no agent running")

// Client talks to a running agent over its socket.
type Client struct {
	hc   *http.Client
	path string
}

// Dial connects to the agent whose data directory is dataDir, or returns
// ErrNotRunning.
func Dial(ctx context.Context, dataDir string) (*Client, error) {
	path := filepath.Join(dataDir, SocketName)
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, ErrNotRunning
		}
		return nil, fmt.Errorf("localapi: connect %s: %w", path, err)
	}
	c.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}, path: path}, nil
}

// StatusError is a failed call whose answer carried no error code (a route
// the running agent does not serve answers 404).
type StatusError struct {
	Method, Path string
	Code         int
	Status       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("localapi: %s %s: %s", e.Method, e.Path, e.Status)
}

// Get decodes the JSON answer of GET path into out. The typed methods
// (client_calls.go) are the way to call the agent's routes; Get and Do
// serve routes without one.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// Do sends a request with an optional JSON body and decodes the answer. A
// failed call returns a *device.Error with the agent's error code.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("localapi: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://hubagent"+path, rd)
	if err != nil {
		return fmt.Errorf("localapi: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("localapi: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("localapi: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.ErrorCode != "" {
			return &device.Error{Code: eb.ErrorCode, Message: eb.Message}
		}
		return &StatusError{Method: method, Path: path, Code: resp.StatusCode, Status: resp.Status}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("localapi: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}
