package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/datadir"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/metrics"
	"github.com/hubagent/hubagent/internal/store"
)

func cmdRun(ctx context.Context, env *Env, args []string) error {
	var c common
	var o config.Overrides
	const synopsis = "[--config FILE] [--data DIR] [--api-listen ADDR] [--mqtt-broker URL] [--mqtt-listen ADDR]"
	fs := newFlags(env, "run", synopsis, &c, false)
	fs.StringVar(&o.APIListen, "api-listen", "", "HTTPS listen `ADDR` (default :8443)")
	fs.StringVar(&o.MQTTBroker, "mqtt-broker", "", "MQTT broker `URL`; empty = embedded broker, auto = find by mDNS")
	fs.StringVar(&o.MQTTListen, "mqtt-listen", "", "embedded broker listen `ADDR` (default 127.0.0.1:1883)")
	fs.StringVar(&o.LogLevel, "log-level", "", "log `LEVEL`: debug, info, warn, error")
	fs.StringVar(&o.LogFormat, "log-format", "", "log `FORMAT`: text or json")
	pos, err := parse(env, fs, synopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, &c, o)
	if err != nil {
		return err
	}
	log := newLogger(env, cfg.Log)
	return runAgent(ctx, cfg, log)
}

func newLogger(env *Env, lc config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(lc.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(env.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.Stderr, opts))
}

// prepareDataDir creates the data directory (0700) and proves it writable
// before anything else starts, so a read-only mount fails with one clear
// line instead of a database error later.
// It refuses a directory others can write or another user owns.
func prepareDataDir(dir string) error {
	if err := datadir.Prepare(dir); err != nil {
		return err
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// unwrapPath drops the *PathError's own path, which the caller names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// runAgent opens the agent's resources, builds its components and runs
// them until ctx ends or one fails.
//
// Resources (the data directory's lock, the store, the listeners, the hub
// with its state writer, the embedded broker, the authorization server)
// are opened in order and closed by the defers below, in reverse, once
// every component has returned. Components are the long-lived parts, each
// a Run(ctx) error under one errgroup: the first error ends them all and
// is the agent's. So the shutdown order is:
//
//  1. ctx ends (a signal) or a component fails: every component stops —
//     the servers, the tunnel, the notifier, the storage monitor, the mDNS
//     browser (goodbye packets) and the drivers (the MQTT client says
//     "offline" and stores the devices whose rebuild was pending);
//  2. the authorization server, then the embedded broker (after the MQTT
//     client said "offline" through it);
//  3. the hub: its state writer commits what the stopped components
//     reported (the hub is New/Close rather than a component because the
//     writer must outlive every one that reports state);
//  4. the listeners, the store, the lock.
func runAgent(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	started := time.Now()
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return err
	}
	// One agent per data directory: the lock comes before the database
	// is opened and is held until the process ends.
	lock, err := datadir.Acquire(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := checkDatabase(cfg); err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, store.FileName), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	hubID, err := st.HubID(ctx)
	if err != nil {
		return err
	}
	log = log.With("hub", hubID)

	// The control socket before the ports (the data directory's lock
	// already refused a second agent).
	sockLn, err := localapi.Listen(cfg.DataDir)
	if err != nil {
		return err
	}
	defer sockLn.Close()
	cert, err := cloudlink.LoadCertificate(cfg.DataDir, cfg.API.CertFile, cfg.API.KeyFile, hubID)
	if err != nil {
		return err
	}
	apiLn, err := cloudlink.Listen(cfg.API.Listen, cert)
	if err != nil {
		return err
	}
	defer apiLn.Close()

	h, err := hub.New(ctx, hub.Options{
		Store: st, CommandTimeout: cfg.API.CommandTimeout, Logger: log.With("component", "hub"),
		Writer: store.WriterOptions{Window: cfg.Store.CoalesceWindow, FlushInterval: cfg.Store.FlushInterval,
			MaxPending: cfg.Store.FlushMaxPending},
	})
	if err != nil {
		return err
	}
	defer h.Close()
	m := metrics.New(h)
	health := newStorageHealth(cfg, h, m, log.With("component", "store"))

	// With no broker configured ("auto": until mDNS finds one) the agent
	// runs its own; a broker already on that port is used instead.
	brokerURL, embedded := cfg.MQTT.Broker, false
	var inproc localbus.LocalBroker
	switch cfg.MQTT.Broker {
	case "", "auto":
		broker, err := localbus.StartBroker(localbus.BrokerOptions{Listen: cfg.MQTT.Listen,
			Username: cfg.MQTT.Username, Password: cfg.MQTT.Password, AllowAnonymous: cfg.MQTT.AllowAnonymous,
			Limits: brokerLimits(cfg), Logger: log.With("component", "broker")})
		switch {
		case err == nil:
			defer broker.Close()
			registerBrokerMetrics(m, broker)
			brokerURL, embedded, inproc = broker.URL(), true, broker
			log.Info("embedded MQTT broker listening", "addr", broker.Addr())
		case errors.Is(err, localbus.ErrAddrInUse) && localbus.ProbeBroker(cfg.MQTT.Listen, cfg.MQTT.Username, cfg.MQTT.Password, 2*time.Second):
			brokerURL = "tcp://" + cfg.MQTT.Listen
			log.Warn("an MQTT broker already listens on the embedded broker's address; using it", "addr", cfg.MQTT.Listen)
		default:
			return err
		}
	}
	ml, err := newMQTTLink(cfg, hubID, h, brokerURL, embedded, inproc, m, log.With("component", "mqtt"))
	if err != nil {
		return err
	}
	mdnsLog := log.With("component", "mdns")
	md := newMDNSLink(cfg, hubID, apiLn.Addr(), m, ml.mq, mdnsLog)
	drivers, err := newDrivers(cfg, h, ml.mq, md.status(), mdnsLog)
	if err != nil {
		return err
	}
	md.watch(drivers)

	srv := cloudlink.NewServer(cloudlink.Options{Hub: h, HubID: hubID, Version: version,
		Logger: log.With("component", "api"), Metrics: m.Handler(), Wrap: m.Wrap,
		Health: func() (bool, string) { st := health.Health(); return st.OK, st.Problem }})
	oa, err := newOAuthLink(cfg, st, h, srv, log.With("component", "oauth"))
	if err != nil {
		return err
	}
	defer oa.srv.Close()
	cl, err := newCICLink(cfg, st, h, srv, oa, m, log)
	if err != nil {
		return err
	}
	tl := newTunnelLink(cfg, hubID, srv.Handler(), m, log.With("component", "tunnel"))
	oa.srv.AddSection(cloudlink.RemoteAccessSection(tl.status))
	oa.srv.AddSection(cloudlink.NotificationsSection(cl.notifier.PartnerHealth, oa.srv.Store()))
	oa.srv.AddSection(md.statusSection())
	oa.srv.AddSection(cloudlink.StorageSection(health.Health))
	local := localapi.NewServer(localapi.Options{Hub: h, HubID: hubID, Version: version,
		Metrics: m.Handler(), Logger: log.With("component", "localapi"), Extra: ml.addRoutes(mergeRoutes(tl.routes(), oa.routes(), md.routes()))})

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, apiLn) })
	g.Go(func() error { return local.Serve(gctx, sockLn) })
	g.Go(func() error { return tl.run(gctx) })      // in the background: start-up never waits on the relay
	g.Go(func() error { return md.run(gctx) })      // browse, advertise; never fatal
	g.Go(func() error { return drivers.Run(gctx) }) // MQTT, WLED, Shelly
	g.Go(func() error { return cl.run(gctx) })      // deliver notifications
	g.Go(func() error { return health.Run(gctx) })
	g.Go(func() error { return manageMemory(gctx, runtimeMemoryTuning(h), defaultMemoryPolicy, log) })
	log.Info("hubagent running", "version", version, "api", apiLn.Addr().String(), "data", cfg.DataDir,
		"devices", h.Len(), "startup", time.Since(started).Round(time.Millisecond))

	<-gctx.Done()
	log.Info("stopping")
	return g.Wait()
}
