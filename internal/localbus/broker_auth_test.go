package localbus

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/testutil"
)

func TestEmbeddedBrokerAdmitsOnlyTheConfiguredUser(t *testing.T) {
	br, err := StartBroker(BrokerOptions{Listen: testutil.FreeAddr(t), Username: "hub", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	for _, tc := range []struct {
		name, user, pass string
		admitted         bool
	}{
		{"right credentials", "hub", "s3cret", true},
		{"wrong password", "hub", "s3cre7", false},
		{"wrong user", "bub", "s3cret", false},
		{"no credentials", "", "", false},
		{"password prefix", "hub", "s3c", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := paho.NewClientOptions().AddBroker(br.URL()).SetClientID("auth-" + tc.user + tc.pass).
				SetUsername(tc.user).SetPassword(tc.pass).SetConnectRetry(false).SetAutoReconnect(false)
			c := paho.NewClient(opts)
			tok := c.Connect()
			if !tok.WaitTimeout(5 * time.Second) {
				t.Fatal("no CONNACK")
			}
			if admitted := tok.Error() == nil; admitted != tc.admitted {
				t.Fatalf("admitted = %v (err %v), want %v", admitted, tok.Error(), tc.admitted)
			}
			if tc.admitted {
				pub := c.Publish("auth/check", 1, false, "x")
				if !pub.WaitTimeout(5*time.Second) || pub.Error() != nil {
					t.Fatalf("publish after admission: %v", pub.Error())
				}
			}
			c.Disconnect(50)
		})
	}
}

func TestEmbeddedBrokerWithoutCredentialsAdmitsAnyone(t *testing.T) {
	br, err := StartBroker(BrokerOptions{Listen: testutil.FreeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("anyone").SetUsername("who").SetPassword("ever"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	c.Disconnect(50)
}
