package localbus

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Only tcp:// and ssl:// connections are dialled buffered; WebSocket
// keeps paho's own dialling.
func TestBufferedDiallingSchemes(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		want   bool
	}{
		{"tcp", true}, {"mqtt", true}, {"ssl", true}, {"tls", true}, {"mqtts", true},
		{"ws", false}, {"wss", false}, {"unix", false},
	} {
		if got := bufferedScheme(tc.scheme); got != tc.want {
			t.Errorf("bufferedScheme(%q) = %v, want %v", tc.scheme, got, tc.want)
		}
	}
}

// paho's packet reader gets every packet intact through the buffer: many
// small ones read from one buffer fill, and ones larger than the buffer.
func TestBufferedConnKeepsPacketFraming(t *testing.T) {
	payloads := [][]byte{}
	for i := range 500 {
		payloads = append(payloads, []byte(`{"state":"ON","brightness":`+strconv.Itoa(i%100)+`}`))
	}
	payloads = append(payloads, bytes.Repeat([]byte("x"), 3*mqttReadBuffer+7), []byte("after the large one"))
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		w := bufio.NewWriter(server)
		for i, p := range payloads {
			pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
			pub.TopicName = "t/" + strconv.Itoa(i)
			pub.Payload = p
			if err := pub.Write(w); err != nil {
				return
			}
		}
		w.Flush()
	}()
	conn := &bufferedConn{Conn: client, r: bufio.NewReaderSize(client, mqttReadBuffer)}
	for i, want := range payloads {
		cp, err := packets.ReadPacket(conn)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		pub, ok := cp.(*packets.PublishPacket)
		if !ok {
			t.Fatalf("packet %d is %T", i, cp)
		}
		if pub.TopicName != "t/"+strconv.Itoa(i) || !bytes.Equal(pub.Payload, want) {
			t.Fatalf("packet %d: topic %q, payload %q, want t/%d %q", i, pub.TopicName,
				truncate(string(pub.Payload), 40), i, truncate(string(want), 40))
		}
	}
}
