package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
)

const userSynopsis = "add NAME [--password-stdin] | passwd NAME [--password-stdin]"

// cmdUser manages the household accounts that sign in on the hub's pages.
func cmdUser(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 0 {
			fmt.Fprintf(env.Stdout, "Usage: hubagent user %s\n", userSynopsis)
			return nil
		}
		return usagef("want a subcommand: add or passwd")
	}
	sub := args[0]
	if sub != "add" && sub != "passwd" {
		return usagef("unknown subcommand %q: want add or passwd", sub)
	}
	var c common
	var fromStdin bool
	syn := sub + " NAME [--password-stdin]"
	fs := newFlags(env, "user "+sub, syn, &c, false)
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	pos, err := parse(env, fs, syn, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one user NAME")
	}
	pw, err := readPassword(env, fromStdin)
	if err != nil {
		return err
	}
	if err := oauth.CheckPasswordPolicy(pw); err != nil {
		return err
	}
	st, accounts, err := openAccounts(ctx, env, &c)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "add" {
		if _, err := accounts.AddUser(ctx, pos[0], pw, oauth.PasswordCost); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "added user %s\n", pos[0])
		return nil
	}
	if err := accounts.SetPassword(ctx, pos[0], pw, oauth.PasswordCost); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "changed the password of %s; its browser sessions are signed out\n", pos[0])
	return nil
}

// readPassword reads the new password: from the first stdin line with
// --password-stdin or when stdin is not a terminal, else from a prompt
// without echo, asked twice.
func readPassword(env *Env, fromStdin bool) (string, error) {
	f, isFile := env.Stdin.(*os.File)
	if fromStdin || !isFile || !isTerminal(f) {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("no password on stdin")
		}
		return pw, nil
	}
	fmt.Fprint(env.Stderr, "New password: ")
	pw, err := readNoEcho(f)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(env.Stderr, "Repeat it: ")
	again, err := readNoEcho(f)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the passwords differ")
	}
	return pw, nil
}
