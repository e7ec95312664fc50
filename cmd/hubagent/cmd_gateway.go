//go:build gateway

package main

import (
	"context"
	"errors"
)

// The gateway build (-tags gateway: OpenWrt packages and the ARM builds, see
// packaging/build.sh) leaves out what only relay operators and partner
// engineers run: the relay's server side and fleet management, and the
// conformance kit. That is 2.7 MB of the stripped arm64 binary, and the
// binary's pages are resident memory on the router. The commands stay
// known, so calling one says why it fails instead of "unknown command".

const (
	relaySynopsis       = "(not in the gateway build)"
	conformanceSynopsis = "(not in the gateway build)"
	notInGateway        = " (not in this gateway build)"
)

// errNotInGatewayBuild names where the command lives.
var errNotInGatewayBuild = errors.New("not in this gateway build; install the full hubagent (the amd64 .deb, or go build without -tags gateway)")

func cmdRelay(context.Context, *Env, []string) error { return errNotInGatewayBuild }

func cmdConformance(context.Context, *Env, []string) error { return errNotInGatewayBuild }
