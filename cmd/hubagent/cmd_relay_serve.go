//go:build !gateway

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/enrollwire"
	"github.com/hubagent/hubagent/internal/relay"
)

// relayServe runs the enrollment service (plain HTTP on loopback, behind
// the relay's nginx, which terminates TLS) and keeps this relay in step
// with the registry: nginx map, reloads, removed hubs' sessions.
func relayServe(ctx context.Context, env *Env, args []string) error {
	var rf relayFlags
	const synopsis = "--ssh-addr HOST:PORT --host-key FILE --domain DOMAIN [--listen ADDR] [--user hubagent] [--ports 20000-29999] [--map FILE] [--upstreams FILE] [--nginx-pid FILE | --reload CMD] [--registry DSN] [--name NAME]"
	fs := newRelayFlags(env, "serve", synopsis, &rf, false)
	listen := fs.String("listen", "127.0.0.1:8089", "enrollment service `ADDR` (HTTP; nginx proxies /v1/enroll and /v1/leave to it)")
	sshAddr := fs.String("ssh-addr", "", "`HOST:PORT` hubs dial for this relay's sshd")
	hostKey := fs.String("host-key", "/etc/ssh/ssh_host_ed25519_key.pub", "sshd's public host key `FILE`, given to hubs")
	login := fs.String("user", "hubagent", "the login `USER` of hubs on this relay's sshd")
	domain := fs.String("domain", "", "hubs are served as hub-<id>.`DOMAIN`")
	ports := fs.String("ports", "20000-29999", "loopback `PORTS` handed to hubs (ranges and lists: 20001,20005-20010)")
	mapFile := fs.String("map", "/etc/hubagent-relay/enrolled.map", "nginx map include `FILE` kept from the registry (empty: none)")
	upstreams := fs.String("upstreams", "/etc/hubagent-relay/enrolled.upstreams", "nginx upstreams include `FILE` kept from the registry")
	reload := fs.String("reload", "", "`CMD` run after the map changed (split on spaces, no shell), instead of --nginx-pid")
	nginxPID := fs.String("nginx-pid", "/run/nginx.pid", "nginx's pid `FILE`: the map is reloaded by SIGHUP to it (empty: use --reload)")
	stop := fs.Bool("stop-sessions", true, "end the sshd session of a removed hub (needs root or the hubs' login user)")
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *sshAddr == "" || *domain == "" {
		return usagef("--ssh-addr and --domain are required")
	}
	if *reload != "" {
		*nginxPID = ""
	}
	pset, err := relay.ParsePorts(*ports)
	if err != nil {
		return usagef("--ports: %v", err)
	}
	hk, err := os.ReadFile(*hostKey)
	if err != nil {
		return fmt.Errorf("relay host key: %w", err)
	}
	k, err := enrollwire.ParseHostKey(string(hk))
	if err != nil {
		return fmt.Errorf("relay host key %s: %w", *hostKey, err)
	}
	reg, err := rf.open(ctx, env)
	if err != nil {
		return err
	}
	defer reg.Close()
	info := relay.Info{Name: rf.name, SSHAddr: *sshAddr, User: *login, HostKey: k, Domain: strings.ToLower(*domain), Ports: pset}
	log := newLogger(env, config.Default().Log)
	sy, err := relay.NewSyncer(relay.SyncOptions{Registry: reg, Self: info, MapFile: *mapFile, UpstreamsFile: *upstreams, Reload: strings.Fields(*reload), ReloadPIDFile: *nginxPID,
		StopSessions: *stop, Logger: log.With("component", "relay-sync")})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("relay: listen %s: %w", *listen, err)
	}
	defer ln.Close()
	svc := relay.NewService(relay.ServiceOptions{Registry: reg, Self: rf.name, Logger: log.With("component", "enroll")})
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	if err := relayAuditOf(ctx, reg, &rf, "serve.start", fmt.Sprintf("%s ssh %s ports %s", *listen, *sshAddr, pset), nil); err != nil {
		return err
	}
	log.Info("relay serving", "relay", rf.name, "listen", ln.Addr().String(), "ssh", *sshAddr, "domain", info.Domain, "ports", pset.String())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- sy.Run(ctx) }()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	srv.Shutdown(sctx) //nolint:errcheck // stopping anyway
	return err
}
