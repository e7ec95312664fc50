package cloudlink

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/hubagent/hubagent/internal/testutil"
)

// A client offering HTTP/2 and HTTP/1.1 gets a protocol the LAN listener
// can actually speak, with HTTP/2 compiled in or not (packaged builds use
// the nethttpomithttp2 tag; .ci/run tests both).
func TestLANListenerNegotiatesOnlyWhatItSpeaks(t *testing.T) {
	cert, err := LoadCertificate(t.TempDir(), "", "", "alpn-test")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(testutil.FreeAddr(t), cert)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(Options{HubID: "alpn-test"}).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	proto := conn.ConnectionState().NegotiatedProtocol
	if !slices.Contains(lanALPN, proto) {
		t.Fatalf("negotiated %q, listener offers %q", proto, lanALPN)
	}
	switch proto {
	case "http/1.1":
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP/1.1 over the negotiated connection: %v %v", resp, err)
		}
	case "h2":
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("HTTP/2 request: %s %s", resp.Proto, resp.Status)
		}
	}
}
