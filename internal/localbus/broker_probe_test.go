package localbus

import (
	"net"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

func TestProbeBrokerTellsABrokerFromAnotherListener(t *testing.T) {
	t.Parallel() // its own broker and listener
	b := testutil.StartMosquitto(t)
	if !ProbeBroker(b.Addr(), "", "", 3*time.Second) {
		t.Fatal("mosquitto not recognised as a broker")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a listener that accepts and says nothing
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	if ProbeBroker(ln.Addr().String(), "", "", 500*time.Millisecond) {
		t.Fatal("a silent listener was taken for a broker")
	}
}
