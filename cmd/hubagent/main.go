// Command hubagent is the home gateway agent: it finds the household's
// appliances on the LAN, keeps their state, and serves the cloud-to-cloud
// interface to partner clouds. See README.md.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Stamped at build time with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "0.0.0-dev"
	commit  = "unknown"
	date    = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()}))
}

// Env is what a command may touch of the outside world, so tests can run
// commands in-process.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string
}
