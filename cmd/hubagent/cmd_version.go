package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
)

// versionInfo is what `hubagent version` reports.
type versionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func currentVersion() versionInfo {
	return versionInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}

func cmdVersion(ctx context.Context, env *Env, args []string) error {
	var c common
	const synopsis = "[--json]"
	fs := newFlags(env, "version", synopsis, &c, true)
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	v := currentVersion()
	if c.json {
		return json.NewEncoder(env.Stdout).Encode(v)
	}
	fmt.Fprintf(env.Stdout, "hubagent %s (commit %s, built %s, %s, %s/%s)\n", v.Version, v.Commit, v.Date, v.Go, v.OS, v.Arch)
	return nil
}
