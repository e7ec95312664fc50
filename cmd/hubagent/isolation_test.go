package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// Issue 15: isolation between partners, households and processes, each
// point against the real binary.

func controlPayload(id string, props map[string]any) map[string]any {
	return map[string]any{"commands": []any{map[string]any{"deviceId": id, "properties": props}}}
}

// The household re-links with read-only: the partner's earlier refresh
// token then yields read-only tokens, and neither it nor the earlier access
// token can Control.
func TestRelinkWithFewerScopesNarrowsEarlierTokens(t *testing.T) {
	t.Parallel()
	w := newCICWorldAPI(t, "command_timeout = \"2s\"\ntoken_ttl = \"5m\"\n", "")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control subscriptions",
		[]string{e2eLampID}, "--config", "hubagent.toml")
	before, err := a.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if ans := a.call("CIC.Control", "Control", controlPayload(e2eLampID, map[string]any{"power": false})); ans.status != 200 {
		t.Fatalf("Control before narrowing: %d %s", ans.status, ans.raw)
	}
	a.consent("Acme Voice", "devices.read", []string{e2eLampID}, oauth2.GenerateVerifier())

	if ans := a.callAs(before.AccessToken, "CIC.Control", "Control", "m-old-access",
		controlPayload(e2eLampID, map[string]any{"power": true})); ans.code() != "ACCESS_DENIED" {
		t.Errorf("earlier access token after narrowing: %d %s", ans.status, ans.raw)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, insecure())
	stale := &oauth2.Token{RefreshToken: before.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	fresh, err := a.cfg.TokenSource(ctx, stale).Token()
	if err != nil {
		t.Fatalf("refresh with the earlier refresh token: %v", err)
	}
	if sc, _ := fresh.Extra("scope").(string); sc != "devices.read" {
		t.Errorf("refreshed scope %q, want devices.read", sc)
	}
	if ans := a.callAs(fresh.AccessToken, "CIC.Control", "Control", "m-refreshed",
		controlPayload(e2eLampID, map[string]any{"power": true})); ans.code() != "ACCESS_DENIED" {
		t.Errorf("refreshed token after narrowing could Control: %d %s", ans.status, ans.raw)
	}
	if ans := a.callAs(fresh.AccessToken, "CIC.Discovery", "Discover", "m-read", map[string]any{}); ans.status != 200 {
		t.Errorf("read-only token cannot read: %d %s", ans.status, ans.raw)
	}
}

// Removing a device never shown to a partner tells that partner nothing:
// its id (names, IEEE addresses) must not reach a DevicesChanged
// subscriber. Removing a shared device is announced.
func TestDevicesChangedNeverNamesAnUnsharedDevice(t *testing.T) {
	t.Parallel()
	pe := newPartnerEndpoint(t)
	w := newCICWorld(t, "\n[notify]\nca_file = \""+pe.caFile+"\"\n")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read subscriptions",
		[]string{e2eLampID, sensorID}, "--config", "hubagent.toml",
		"--callback-host", "127.0.0.1", "--allow-private-callback",
		"--notify-token-url", pe.srv.URL+"/token", "--notify-client-id", "hub", "--notify-client-secret", "s3cret-for-push")
	if ans := a.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": pe.srv.URL + "/cic/notify",
		"events": []string{"DevicesChanged"}}); ans.status != 200 {
		t.Fatalf("Subscribe: %d %s", ans.status, ans.raw)
	}
	// The unshared device goes first, the shared one after it: events of a
	// subscription are delivered in order, so once the second removal is
	// in, the first would have been too.
	w.app.publish(t, hiddenTopic, "")
	pollDevices(t, w.dir, 10*time.Second, "the hidden lamp removed", func(ds map[string]device.Device) bool {
		_, ok := ds[hiddenID]
		return !ok
	})
	w.app.publish(t, e2eLampTopic, "")
	testutil.Eventually(t, 10*time.Second, "the shared lamp's removal at the partner", func() bool {
		pe.mu.Lock()
		defer pe.mu.Unlock()
		for _, env := range pe.got {
			if b, _ := json.Marshal(env); strings.Contains(string(b), `"removed":["`+e2eLampID+`"]`) {
				return true
			}
		}
		return false
	})
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, env := range pe.got {
		if b, _ := json.Marshal(env); strings.Contains(string(b), hiddenID) {
			t.Errorf("the partner learned the id of a device it was never shown: %s", b)
		}
	}
}

// Special-purpose callback addresses are refused where they appear: as an
// address literal at `partner add`, behind a name (also written as NAT64,
// v4-compatible or v4-mapped IPv6) at Subscribe. A refused subscription
// never exists, so nothing is ever dialled.
func TestSpecialPurposeCallbackAddressesAreRefused(t *testing.T) {
	t.Parallel()
	listed := []string{"198.18.0.1", "0.1.2.3", "192.0.0.1", "240.0.0.1", "255.255.255.255"}
	dir := t.TempDir()
	for _, ip := range listed {
		_, errOut, code := hubagent(t, dir, "partner", "add", "--name", "P "+ip, "--redirect-uri", testRedirect, "--callback-host", ip)
		if code != 2 || !strings.Contains(errOut, ip) || !strings.Contains(errOut, "special-purpose") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("partner add --callback-host %s: exit %d, %q", ip, code, errOut)
		}
	}
	if out, _, code := hubagent(t, dir, "partner", "list", "--json"); code == 0 && strings.TrimSpace(out) != "[]" {
		t.Errorf("a refused partner was stored: %s", out)
	}

	// Names the agent resolves (its own /etc/hosts, in a mount namespace).
	names := map[string]string{
		"bench.cb.test": "198.18.0.1", "thisnet.cb.test": "0.1.2.3", "dslite.cb.test": "192.0.0.1",
		"reserved.cb.test": "240.0.0.1", "bcast.cb.test": "255.255.255.255",
		"nat64-bench.cb.test": "64:ff9b::c612:1", "nat64-dslite.cb.test": "64:ff9b::c000:1",
		"nat64-loop.cb.test": "64:ff9b::7f00:1", "nat64-local.cb.test": "64:ff9b:1::808:808",
		"compat-bench.cb.test": "::c612:1", "compat-loop.cb.test": "::7f00:1", "compat-public.cb.test": "::808:808",
		"mapped-bench.cb.test": "::ffff:c612:1", "sixtofour.cb.test": "2002:c612:1::1",
	}
	if _, err := os.Stat("/usr/bin/unshare"); err != nil || os.Geteuid() != 0 {
		t.Skip("Subscribe part needs root and unshare(1) to give the agent its own /etc/hosts")
	}
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1 localhost\n::1 localhost\n")
	args := []string{"--config", "hubagent.toml"}
	for n, ip := range names {
		hosts.WriteString(ip + " " + n + "\n")
		args = append(args, "--callback-host", n)
	}
	world := t.TempDir()
	hostsFile := filepath.Join(world, "hosts")
	os.WriteFile(hostsFile, []byte(hosts.String()), 0o644)
	os.WriteFile(filepath.Join(world, "hubagent.toml"), []byte("[mdns]\nenabled = false\n"), 0o600)
	addUser(t, world, "--config", "hubagent.toml")
	ag := startAgentVia(t, world, []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$0" /etc/hosts && exec "$@"`, hostsFile}, "--config", "hubagent.toml")
	ag.healthz(t, 15*time.Second)
	a := linkPartner(t, world, ag.api, "Acme Voice", "devices.read subscriptions", nil, args...)
	for n, ip := range names {
		ans := a.call("CIC.Subscription", "Subscribe", map[string]any{"callbackUrl": "https://" + n + "/cic/notify",
			"events": []string{"StatusChanged"}})
		if ans.code() != "INVALID_CALLBACK" {
			t.Errorf("callback %s (%s): %d %s", n, ip, ans.status, ans.raw)
		}
	}
	ans := a.call("CIC.Subscription", "ListSubscriptions", map[string]any{})
	if subs, _ := ans.payload["subscriptions"].([]any); ans.status != 200 || len(subs) != 0 {
		t.Errorf("subscriptions after refusals: %s", ans.raw)
	}
}

// An attacker's wrong PKCE verifier burns an intercepted code; the
// legitimate client's exchange then answers invalid_grant, and the
// household's existing link keeps working.
func TestBurntCodeLeavesTheExistingLinkWorking(t *testing.T) {
	t.Parallel()
	w := newCICWorldAPI(t, "command_timeout = \"2s\"\ntoken_ttl = \"5m\"\n", "")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control",
		[]string{e2eLampID}, "--config", "hubagent.toml")
	linked, err := a.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	code := a.consent("Acme Voice", "devices.read devices.control", []string{e2eLampID}, verifier)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, insecure())
	if _, err := a.cfg.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("exchange with a wrong verifier: %v", err)
	}
	if _, err := a.cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("exchange of a burnt code: %v", err)
	}
	if ans := a.callAs(linked.AccessToken, "CIC.Control", "Control", "m-after-burn",
		controlPayload(e2eLampID, map[string]any{"power": false})); ans.status != 200 {
		t.Errorf("existing access token after a burnt code: %d %s", ans.status, ans.raw)
	}
	stale := &oauth2.Token{RefreshToken: linked.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	if _, err := a.cfg.TokenSource(ctx, stale).Token(); err != nil {
		t.Errorf("existing refresh token after a burnt code: %v", err)
	}
}

// Two agents started together on one data directory: every time exactly
// one stays, and the one that gives up leaves the survivor's socket alone.
func TestTwoSimultaneousStartsLeaveOneAgent(t *testing.T) {
	t.Parallel()
	for try := range 20 {
		dir := t.TempDir()
		a, b := startAgent(t, dir), startAgent(t, dir)
		var loser, survivor *agent
		select {
		case <-a.done:
			loser, survivor = a, b
		case <-b.done:
			loser, survivor = b, a
		case <-time.After(20 * time.Second):
			t.Fatalf("try %d: both agents still running on one data directory", try)
		}
		if code := loser.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(loser.stderr.String(), "already running") {
			t.Fatalf("try %d: second agent exit %d: %s", try, code, loser.stderr)
		}
		survivor.healthz(t, 15*time.Second)
		if _, err := os.Stat(filepath.Join(dir, "hubagent-data", "hubagent.sock")); err != nil {
			t.Fatalf("try %d: the survivor's socket is gone: %v", try, err)
		}
		if _, errOut, code := hubagent(t, dir, "discovered"); code != 0 {
			t.Fatalf("try %d: the survivor does not answer on its socket: %s", try, errOut)
		}
		if code := survivor.stop(t, 10*time.Second); code != 0 {
			t.Fatalf("try %d: survivor exit %d: %s", try, code, survivor.stderr)
		}
	}
}

// The data directory is refused, in one line naming it and the fix, when
// others can write it, and when its database is empty beside its keys; a
// read command on a missing data directory exits 1 without making it.
func TestUnsafeOrMissingDataDirectoryIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	os.Chmod(data, 0o777)
	errOut, code := runRefused(t, dir, "--data", data)
	if code != 1 || !strings.Contains(errOut, data) || !strings.Contains(errOut, "chmod") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("mode 0777 data directory: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "hubagent.db")); !os.IsNotExist(err) {
		t.Error("the agent opened a database in a world-writable directory")
	}

	os.Chmod(data, 0o700)
	ag := startAgent(t, dir, "--data", data)
	ag.healthz(t, 15*time.Second)
	ag.stop(t, 10*time.Second)
	for _, f := range []string{"hubagent.db-wal", "hubagent.db-shm"} {
		os.Remove(filepath.Join(data, f))
	}
	if err := os.Truncate(filepath.Join(data, "hubagent.db"), 0); err != nil {
		t.Fatal(err)
	}
	errOut, code = runRefused(t, dir, "--data", data)
	if code != 1 || !strings.Contains(errOut, "empty (0 bytes)") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("empty database beside keys: exit %d, %q", code, errOut)
	}
	if _, errOut, code := hubagent(t, dir, "partner", "add", "--data", data, "--name", "X", "--redirect-uri", testRedirect); code != 1 || !strings.Contains(errOut, "empty (0 bytes)") {
		t.Errorf("partner add on an empty database beside keys: exit %d, %q", code, errOut)
	}

	// The literal path of the issue only with `devices` (which never wrote
	// anything, even before); every read command on a path of our own.
	if _, err := os.Stat("/nonexistent"); os.IsNotExist(err) {
		_, errOut, code := hubagent(t, dir, "devices", "--data", "/nonexistent")
		if code != 1 || !strings.Contains(errOut, "/nonexistent does not exist") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("devices --data /nonexistent: exit %d, %q", code, errOut)
		}
	}
	for _, missing := range []string{filepath.Join(dir, "nonexistent")} {
		for _, cmd := range [][]string{{"devices"}, {"devices", "--json"}, {"device", "get", "x"}, {"partner", "list"}, {"audit"}} {
			_, errOut, code := hubagent(t, dir, append(cmd, "--data", missing)...)
			if code != 1 || !strings.Contains(errOut, missing+" does not exist") || strings.Count(errOut, "\n") != 1 {
				t.Errorf("%v --data %s: exit %d, %q", cmd, missing, code, errOut)
			}
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Errorf("a read command created %s", missing)
		}
	}
}

// lanHeader returns one response header of a GET on the agent's LAN side.
func lanHeader(t *testing.T, api, path, header string) string {
	t.Helper()
	resp, err := insecure().Get("https://" + api + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return resp.Header.Get(header)
}

// runRefused starts `hubagent run` that is expected to refuse to start: it
// returns stderr and the exit code, or -1 for an agent still running after
// 15 s (then stopped).
func runRefused(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	ag := startAgent(t, dir, args...)
	select {
	case <-ag.done:
		return ag.stderr.String(), ag.cmd.ProcessState.ExitCode()
	case <-time.After(15 * time.Second):
		ag.cmd.Process.Kill()
		<-ag.done
		return "still running after 15s: " + ag.stderr.String(), -1
	}
}
