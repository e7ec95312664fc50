//go:build !gateway

package main

import (
	"context"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// relayKeys is sshd's AuthorizedKeysCommand: given the login user (%u) and
// the offered key (%k, base64), it prints that hub's authorized_keys line,
// restricted to the hub's own port on this relay, or nothing. sshd asks at
// every login, so a removed hub is refused at once and no file is
// rewritten. Lookups are not audited (one per hub reconnect); sshd logs
// them.
func relayKeys(ctx context.Context, env *Env, args []string) error {
	var rf relayFlags
	const synopsis = "[--user hubagent] [--registry DSN] [--name NAME] USER KEY"
	fs := newRelayFlags(env, "keys", synopsis, &rf, false)
	login := fs.String("user", "hubagent", "the login `USER` hubs use on this relay; other users get no key")
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want USER and KEY (sshd: AuthorizedKeysCommand ... %%u %%k)")
	}
	if pos[0] != *login {
		return nil
	}
	if len(pos[1]) > 4096 {
		return fmt.Errorf("key longer than 4096 characters")
	}
	raw, err := base64.StdEncoding.DecodeString(pos[1])
	if err != nil {
		return fmt.Errorf("key is not base64: %w", err)
	}
	key, err := ssh.ParsePublicKey(raw)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	reg, err := rf.open(ctx, env)
	if err != nil {
		return err
	}
	defer reg.Close()
	line, err := reg.KeyLine(ctx, rf.name, key)
	if err != nil {
		return err
	}
	if line != "" {
		fmt.Fprintln(env.Stdout, line)
	}
	return nil
}
