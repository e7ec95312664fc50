package localbus

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/net/proxy"
)

// mqttReadBuffer is the read buffer of the broker connection: a burst of
// small PUBLISH packets (a Zigbee2MQTT report is ~100 bytes) is read with
// one system call.
const mqttReadBuffer = 16 << 10

// bufferedConn is a broker connection read through a buffer. paho reads
// each packet straight from the connection: its type byte, each byte of
// its length, then its body — three read system calls for a small
// PUBLISH. Under a stream of state messages that was a large share of the
// agent's ingest CPU; buffered, the reads mostly come from memory.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// bufferedScheme reports whether a broker URL scheme is dialled by
// openBufferedConn; WebSocket connections keep paho's own dialling.
func bufferedScheme(scheme string) bool {
	switch scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
		return true
	}
	return false
}

// openBufferedConn dials the broker as paho's openConnection does for
// tcp:// and ssl:// (the same dialer, proxy settings from the environment
// and TLS config) and wraps the connection in a bufferedConn. It is set
// as paho's CustomOpenConnectionFn for the schemes bufferedScheme takes.
func openBufferedConn(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	dialer := o.Dialer
	if dialer == nil {
		dialer = &net.Dialer{Timeout: 30 * time.Second}
	}
	var conn net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		conn, err = proxy.FromEnvironmentUsing(dialer).Dial("tcp", uri.Host)
	case "ssl", "tls", "mqtts":
		if os.Getenv("all_proxy") == "" {
			conn, err = tls.DialWithDialer(dialer, "tcp", uri.Host, o.TLSConfig)
			break
		}
		var raw net.Conn
		if raw, err = proxy.FromEnvironment().Dial("tcp", uri.Host); err != nil {
			break
		}
		tc := tls.Client(raw, o.TLSConfig)
		if err = tc.Handshake(); err != nil {
			raw.Close()
			break
		}
		conn = tc
	default:
		return nil, fmt.Errorf("localbus: mqtt: no buffered dialling for %s://", uri.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("localbus: mqtt: dial %s: %w", redactURL(uri.String()), err)
	}
	return &bufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, mqttReadBuffer)}, nil
}
