package enrollwire

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func signer(t testing.TB) ssh.Signer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeEnrollRequestRefusesBadInput(t *testing.T) {
	key := KeyString(signer(t).PublicKey())
	for name, tt := range map[string]struct {
		body string
		ok   bool
	}{
		"valid":            {`{"hubId":"0123456789abcdef","publicKey":"` + key + `","token":"hrt_abcdefghijklmnopqrstuvwxyz"}`, true},
		"no token":         {`{"hubId":"0123456789abcdef","publicKey":"` + key + `"}`, false},
		"upper hub id":     {`{"hubId":"0123456789ABCDEF","publicKey":"` + key + `","token":"hrt_abcdefghijklmnopqrstuvwxyz"}`, false},
		"key with options": {`{"hubId":"0123456789abcdef","publicKey":"restrict ` + key + `","token":"hrt_abcdefghijklmnopqrstuvwxyz"}`, false},
		"unknown field":    {`{"hubId":"0123456789abcdef","publicKey":"` + key + `","token":"hrt_abcdefghijklmnopqrstuvwxyz","port":1}`, false},
		"trailing":         {`{"hubId":"0123456789abcdef","publicKey":"` + key + `","token":"hrt_abcdefghijklmnopqrstuvwxyz"} {}`, false},
		"token chars":      {`{"hubId":"0123456789abcdef","publicKey":"` + key + `","token":"hrt_abc def ghijklmnopqrstu"}`, false},
		"huge":             {`{"hubId":"` + strings.Repeat("a", MaxBody) + `"}`, false},
	} {
		_, _, err := DecodeEnrollRequest(strings.NewReader(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestEnrollmentCheckHoldsEveryFieldToItsForm(t *testing.T) {
	hk := KeyString(signer(t).PublicKey())
	good := Enrollment{HubID: "0123456789abcdef", RelayName: "r1", Relay: "relay.example:22", User: "hubagent", HostKey: hk,
		RemoteListen: "127.0.0.1:20001", PublicURL: "https://hub-0123456789abcdef.relay.example"}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Enrollment){
		"listen elsewhere": func(e *Enrollment) { e.RemoteListen = "0.0.0.0:20001" },
		"low port":         func(e *Enrollment) { e.RemoteListen = "127.0.0.1:22" },
		"http url":         func(e *Enrollment) { e.PublicURL = "http://hub.example" },
		"url with path":    func(e *Enrollment) { e.PublicURL = "https://hub.example/x?y" },
		"bad host key":     func(e *Enrollment) { e.HostKey = "ssh-ed25519 !!!" },
		"user":             func(e *Enrollment) { e.User = "root;rm" },
		"relay":            func(e *Enrollment) { e.Relay = "relay example" },
	} {
		e := good
		mut(&e)
		if err := e.Check(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestProofsBindHubAndKey(t *testing.T) {
	s := signer(t)
	sig, _ := s.Sign(rand.Reader, EnrollMessage("0123456789abcdef", "k1"))
	p := EncodeProof(sig)
	if err := VerifyProof(s.PublicKey(), EnrollMessage("0123456789abcdef", "k1"), p); err != nil {
		t.Fatal(err)
	}
	if VerifyProof(s.PublicKey(), EnrollMessage("0123456789abcdef", "k2"), p) == nil {
		t.Fatal("proof for k1 accepted for k2")
	}
	if VerifyProof(signer(t).PublicKey(), EnrollMessage("0123456789abcdef", "k1"), p) == nil {
		t.Fatal("proof accepted with another key")
	}
}

func FuzzDecodeEnrollRequest(f *testing.F) {
	f.Add([]byte(`{"hubId":"0123456789abcdef","publicKey":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl","token":"hrt_abcdefghijklmnopqrstuvwxyz"}`))
	f.Add([]byte(`{"hubId":"0123456789abcdef","publicKey":"x","proof":"AAAA"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, key, err := DecodeEnrollRequest(strings.NewReader(string(b)))
		if err == nil && (req == nil || key == nil || !ValidHubID(req.HubID)) {
			t.Fatal("accepted an invalid request")
		}
	})
}

func FuzzDecodeEnrollment(f *testing.F) {
	f.Add([]byte(`{"hubId":"0123456789abcdef","relayName":"r1","relay":"relay.example:22","user":"hubagent","hostKey":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl","remoteListen":"127.0.0.1:20001","publicUrl":"https://hub-0123456789abcdef.relay.example"}`))
	f.Add([]byte(`{"remoteListen":"127.0.0.1:99999"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnrollment(strings.NewReader(string(b)))
		if err == nil && !strings.HasPrefix(e.RemoteListen, "127.0.0.1:") {
			t.Fatalf("accepted %q", e.RemoteListen)
		}
	})
}

func FuzzVerifyProof(f *testing.F) {
	f.Add("AAAAC3NzaC1lZDI1NTE5AAAAQA==")
	f.Add("!!")
	k := signer(f).PublicKey()
	f.Fuzz(func(t *testing.T, p string) {
		if VerifyProof(k, []byte("m"), p) == nil {
			t.Fatal("random proof verified")
		}
	})
}
