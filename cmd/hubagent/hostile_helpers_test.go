package main

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// procStatus reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status in
// bytes.
func procStatus(t testing.TB, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", field, line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// procCPU is the user plus system CPU time the process has used
// (/proc/<pid>/stat, in USER_HZ = 100 ticks a second on Linux).
func procCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces: state is field 3, utime 14, stime 15.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// metric scrapes one unlabelled value from the agent's /metrics.
func (a *agent) metric(t testing.TB, name string) float64 {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://" + a.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// health is one /healthz answer: its HTTP status and body.
func (a *agent) health(t testing.TB) (int, map[string]any) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://" + a.api + "/healthz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, h
}

// writeHostileConfig writes hubagent.toml with mDNS off and extra lines
// (section headers included).
func writeHostileConfig(t *testing.T, dir string, extra ...string) {
	t.Helper()
	cfg := "[mdns]\nenabled = false\n\n" + strings.Join(extra, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "hubagent.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rawMQTT is a bare MQTT 3.1.1 client: it sends exactly the bytes an
// attacker would, with no client library deciding otherwise.
type rawMQTT struct{ c net.Conn }

func mqttString(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

func mqttPacket(typ byte, body []byte) []byte {
	out := []byte{typ}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		out = append(out, d)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// dialRaw connects and sends CONNECT (clean session, no credentials);
// the CONNACK return code is returned (-1: the broker closed the
// connection instead).
func dialRaw(t testing.TB, addr, clientID string) (*rawMQTT, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	body := append(mqttString("MQTT"), 4, 0x02, 0, 60)
	body = append(body, mqttString(clientID)...)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(mqttPacket(0x10, body)); err != nil {
		c.Close()
		return nil, -1
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil {
		c.Close()
		return nil, -1
	}
	c.SetDeadline(time.Time{})
	return &rawMQTT{c: c}, int(ack[3])
}

// publish sends a QoS 0 PUBLISH; the error is the write's.
func (r *rawMQTT) publish(topic string, payload []byte, retain bool) error {
	typ := byte(0x30)
	if retain {
		typ |= 1
	}
	r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := r.c.Write(mqttPacket(typ, append(mqttString(topic), payload...)))
	return err
}

// closedByPeer reports whether the broker closed the connection within d.
func (r *rawMQTT) closedByPeer(d time.Duration) bool {
	r.c.SetReadDeadline(time.Now().Add(d))
	_, err := r.c.Read(make([]byte, 1))
	return err == io.EOF || (err != nil && !isTimeout(err))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func (r *rawMQTT) close() { r.c.Close() }

// pahoAt connects an ordinary anonymous paho client.
func pahoAt(t testing.TB, addr, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}
