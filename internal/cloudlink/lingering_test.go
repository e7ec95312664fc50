package cloudlink

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// writeThenRead sends a request the way Python's urllib does, the whole
// body before reading anything, then a second request on the same
// connection if the first left it open, and returns both answers (the
// second nil when the connection was closed).
func writeThenRead(t *testing.T, addr string, bodyLen int) (*http.Response, []byte, *http.Response) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("POST /x HTTP/1.1\r\nHost: hub\r\nContent-Length: %d\r\n\r\n", bodyLen)
	if _, err := conn.Write(append([]byte(req), bytes.Repeat([]byte("x"), bodyLen)...)); err != nil {
		t.Fatalf("writing the body: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	if resp.Close {
		return resp, body, nil
	}
	if _, err := fmt.Fprintf(conn, "GET /x HTTP/1.1\r\nHost: hub\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	second, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("second request on a kept connection: %v", err)
	}
	io.Copy(io.Discard, second.Body)
	return resp, body, second
}

func TestLingeringClose(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bodyLen   int
		handler   http.HandlerFunc
		status    int
		wantClose bool
	}{
		{"answer after reading the body keeps the connection", 1000,
			func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); w.Write([]byte("ok")) },
			200, false},
		{"401 before the body goes out whole and closes", 600 << 10,
			func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no token", http.StatusUnauthorized) },
			401, true},
		{"413 after reading part of the body closes", 600 << 10,
			func(w http.ResponseWriter, r *http.Request) {
				io.CopyN(io.Discard, r.Body, 1000)
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			}, 413, true},
		{"handler that writes nothing still answers", 300 << 10,
			func(w http.ResponseWriter, r *http.Request) {}, 200, true},
		{"answer larger than what is held is streamed", 300 << 10,
			func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				w.Write(bytes.Repeat([]byte("e"), maxHeld+1))
			}, 400, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(lingeringClose(tc.handler))
			srv.StartTLS()
			defer srv.Close()
			resp, body, second := writeThenRead(t, srv.Listener.Addr().String(), tc.bodyLen)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if resp.Close != tc.wantClose {
				t.Errorf("Connection: close = %v, want %v", resp.Close, tc.wantClose)
			}
			if !tc.wantClose && second == nil {
				t.Errorf("connection not kept")
			}
			if tc.wantClose && len(body) <= maxHeld && resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d for a %d-byte early answer", resp.ContentLength, len(body))
			}
		})
	}
}
