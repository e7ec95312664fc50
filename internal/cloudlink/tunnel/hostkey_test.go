package tunnel

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestFindPinMatchesRelayByNormalisedAddress(t *testing.T) {
	k1 := mustKey(t, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhEnSt5VKbkQYS2QrBH1C6Q2eeV0X4fSOrOPmhWl4/M a")
	k2 := mustKey(t, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOhq29MTKcL1yhbQZMBm5kP9gbg+4j4cBcY9D9XB/EDb b")
	file := "# pins\n\n" + knownhosts.Line([]string{knownhosts.Normalize("relay.example:22")}, k1) + "\n" +
		knownhosts.Line([]string{knownhosts.Normalize("127.0.0.1:2222")}, k2) + "\n"
	tests := []struct {
		relay string
		want  ssh.PublicKey
	}{
		{"relay.example:22", k1},
		{"127.0.0.1:2222", k2},
		{"127.0.0.1:22", nil},
	}
	for _, tt := range tests {
		got, err := FindPin([]byte(file), tt.relay)
		if err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (tt.want == nil) || got != nil && string(got.Marshal()) != string(tt.want.Marshal()) {
			t.Errorf("FindPin(%s) = %v, want %v", tt.relay, got, tt.want)
		}
	}
	if _, err := FindPin([]byte("garbage line\n"), "relay.example:22"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed pin file: err = %v", err)
	}
}

func mustKey(t *testing.T, line string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzFindPin(f *testing.F) {
	f.Add([]byte("[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhEnSt5VKbkQYS2QrBH1C6Q2eeV0X4fSOrOPmhWl4/M\n"), "127.0.0.1:2222")
	f.Fuzz(func(t *testing.T, data []byte, relay string) {
		k, err := FindPin(data, relay)
		if err != nil && k != nil {
			t.Fatal("key and error both returned")
		}
	})
}
