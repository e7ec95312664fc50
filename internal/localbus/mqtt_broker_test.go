package localbus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

func TestSetBrokerSwitchesAndRebuildsFromTheNewBroker(t *testing.T) {
	a := testutil.StartMosquitto(t)
	b := testutil.StartMosquitto(t)
	r := newRig(t, a, "", rigOptions{})
	const topic, config = "homeassistant/switch/plug/config", `{"name":"Plug","command_topic":"plug/set","state_topic":"plug/state"}`
	id := fixtureDeviceID(t, topic, config)
	r.publish(topic, config, true)
	r.publish("plug/state", "ON", true)
	testutil.Eventually(t, 5*time.Second, "plug on broker A", func() bool {
		d := r.device(id)
		return d != nil && d.Online && d.State["power"].Equal(device.Bool(true))
	})

	if err := r.mq.SetBroker(b.URL()); err != nil {
		t.Fatal(err)
	}
	if r.mq.Broker() != b.URL() {
		t.Errorf("Broker() = %s, want %s", r.mq.Broker(), b.URL())
	}
	// B does not know the plug: it stays listed (with its last state) but
	// offline until B replays its config.
	testutil.Eventually(t, 5*time.Second, "connected to B", func() bool { return r.mq.Stats().Connected })
	if !testutil.Poll(5*time.Second, func() bool {
		d := r.device(id)
		return d != nil && !d.Online && d.State["power"].Equal(device.Bool(true))
	}) {
		t.Fatalf("plug after switching to B: %+v, want listed, offline, power on", r.device(id))
	}
	onB := connectClient(t, b, "appliances-b")
	onB.Publish(topic, 1, true, config).Wait()
	onB.Publish("plug/state", 1, true, "OFF").Wait()
	testutil.Eventually(t, 5*time.Second, "plug rebuilt from B", func() bool {
		d := r.device(id)
		return d != nil && d.Online && d.State["power"].Equal(device.Bool(false))
	})
	if err := r.mq.SetBroker("http://example.invalid"); err == nil {
		t.Error("SetBroker accepted an http URL")
	}
}

// writePEM writes a certificate or key block.
func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue makes a key and a certificate signed by ca (self-signed when ca is nil).
func issue(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.Subject = pkix.Name{CommonName: name}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if ca == nil {
		ca, caKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	writePEM(t, filepath.Join(dir, name+".crt"), "CERTIFICATE", der)
	kder, _ := x509.MarshalECPrivateKey(key)
	writePEM(t, filepath.Join(dir, name+".key"), "EC PRIVATE KEY", kder)
	return cert, key
}

func TestSSLBrokerWithCAAndClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := issue(t, dir, "ca", nil, nil, &x509.Certificate{IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature})
	issue(t, dir, "server", ca, caKey, &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	issue(t, dir, "client", ca, caKey, &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature})
	tlsAddr := testutil.FreeAddr(t)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	broker := testutil.StartMosquitto(t,
		"listener "+tlsPort+" 127.0.0.1",
		"cafile "+filepath.Join(dir, "ca.crt"),
		"certfile "+filepath.Join(dir, "server.crt"),
		"keyfile "+filepath.Join(dir, "server.key"),
		"require_certificate true")
	// mosquitto may still be opening the second listener.
	testutil.Eventually(t, 5*time.Second, "TLS listener", func() bool {
		c, err := net.Dial("tcp", tlsAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	newClient := func(cert string) *MQTT {
		opts := MQTTOptions{Hub: h, HubID: "tls", Broker: "ssl://" + tlsAddr, CAFile: filepath.Join(dir, "ca.crt"), ClientID: "tls-" + cert}
		if cert != "" {
			opts.CertFile, opts.KeyFile = filepath.Join(dir, cert+".crt"), filepath.Join(dir, cert+".key")
		}
		m, err := NewMQTT(opts)
		if err != nil {
			t.Fatal(err)
		}
		startMQTT(t, m)
		return m
	}
	withCert := newClient("client")
	testutil.Eventually(t, 10*time.Second, "TLS connection with a client certificate", func() bool { return withCert.Stats().Connected })

	withoutCert := newClient("")
	// The broker's refusal of the handshake proves the client tried.
	testutil.Eventually(t, 10*time.Second, "the broker to refuse the certificate-less client", func() bool {
		return strings.Contains(broker.Log(), "peer did not return a certificate.")
	})
	if withoutCert.Stats().Connected {
		t.Error("connected without a client certificate to a broker that requires one")
	}
	if _, err := NewMQTT(MQTTOptions{Hub: h, Broker: "ssl://" + tlsAddr, CAFile: filepath.Join(dir, "nope.crt")}); err == nil {
		t.Error("NewMQTT accepted a missing CA file")
	}
}

func TestWebSocketBroker(t *testing.T) {
	wsAddr := testutil.FreeAddr(t)
	_, wsPort, _ := net.SplitHostPort(wsAddr)
	broker := testutil.StartMosquitto(t, "listener "+wsPort+" 127.0.0.1", "protocol websockets")
	testutil.Eventually(t, 5*time.Second, "websocket listener", func() bool {
		c, err := net.Dial("tcp", wsAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	r := newRig(t, broker, "", rigOptions{})
	const topic, config = "homeassistant/switch/ws/config", `{"name":"WS","command_topic":"ws/set","state_topic":"ws/state"}`
	r.publish(topic, config, true)
	r.publish("ws/state", "ON", true)
	m, err := NewMQTT(MQTTOptions{Hub: r.hub, HubID: "ws", Broker: "ws://" + wsAddr, ClientID: "ws-client"})
	if err != nil {
		t.Fatal(err)
	}
	r.stopMQ() // only the websocket client feeds the hub now
	defer startMQTT(t, m)()
	id := fixtureDeviceID(t, topic, config)
	testutil.Eventually(t, 10*time.Second, "device over ws://", func() bool {
		d := r.device(id)
		return m.Stats().Connected && d != nil && d.Online && d.State["power"].Equal(device.Bool(true))
	})
}
