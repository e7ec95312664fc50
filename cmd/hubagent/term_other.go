//go:build !linux

package main

import (
	"errors"
	"os"
)

// isTerminal is false off Linux (the agent targets Linux gateways): the
// password is then read from stdin.
func isTerminal(*os.File) bool { return false }

func readNoEcho(*os.File) (string, error) {
	return "", errors.New("password prompt not supported here; use --password-stdin")
}
