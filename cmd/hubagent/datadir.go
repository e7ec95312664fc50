package main

import (
	"path/filepath"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/datadir"
	"github.com/hubagent/hubagent/internal/store"
)

// hubKeyFiles are the files that make a hub's identity beside its
// database: the token signing key, the TLS key and the tunnel key.
func hubKeyFiles(cfg *config.Config) []string {
	keys := []string{oauth.KeyFileName, cloudlink.SelfSignedKeyFile}
	if cfg.Tunnel.KeyFile != "" && filepath.Dir(cfg.Tunnel.KeyFile) == filepath.Clean(cfg.DataDir) {
		keys = append(keys, filepath.Base(cfg.Tunnel.KeyFile))
	}
	return keys
}

// checkDatabase refuses an empty database beside the hub's keys.
func checkDatabase(cfg *config.Config) error {
	return datadir.CheckDatabase(cfg.DataDir, store.FileName, hubKeyFiles(cfg)...)
}

// requireDataDir is for commands that only read: a missing data directory
// is an error (exit 1), never created.
func requireDataDir(dir string) error { return datadir.Check(dir) }
