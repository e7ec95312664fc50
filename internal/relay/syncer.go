package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TokenRetention is how long used and expired tokens stay in the registry.
const TokenRetention = 30 * 24 * time.Hour

// SyncOptions configure the loop that keeps one relay in step with the
// registry.
type SyncOptions struct {
	Registry *Registry
	Self     Info
	// MapFile and UpstreamsFile are the nginx includes to keep (map lines
	// and upstream blocks); "" skips them.
	MapFile, UpstreamsFile string
	// Reload is run (argv, no shell) after the map changed, e.g.
	// ["systemctl", "reload", "nginx"].
	Reload []string
	// ReloadPIDFile, if set instead, names nginx's pid file: reloading is
	// a SIGHUP to that process, which needs no access to nginx's
	// configuration or keys (only CAP_KILL when not root).
	ReloadPIDFile string
	// StopSessions ends the sshd session of a hub that is no longer
	// enrolled on this relay (needs the right to signal sshd's session
	// processes: root, or the hubs' login user).
	StopSessions bool
	Interval     time.Duration // registry poll; default 1 s
	Logger       *slog.Logger
}

// Syncer announces the relay, heartbeats, and on every change of its hubs
// rewrites the nginx map, reloads nginx and stops removed hubs' sessions.
type Syncer struct {
	o        SyncOptions
	gen      int64
	synced   bool
	reload   bool // files changed and nginx has not taken them yet
	lastBeat time.Time
}

// NewSyncer checks the options.
func NewSyncer(o SyncOptions) (*Syncer, error) {
	if o.Registry == nil {
		return nil, errors.New("relay: sync needs a registry")
	}
	if err := o.Self.Check(); err != nil {
		return nil, err
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Syncer{o: o}, nil
}

// Run syncs until ctx ends. Registry or reload failures are logged and
// retried at the next tick; they never stop the relay.
func (s *Syncer) Run(ctx context.Context) error {
	if err := s.o.Registry.Announce(ctx, s.o.Self); err != nil {
		return err
	}
	s.lastBeat = time.Now()
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		if err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Error("relay sync failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step does one round: heartbeat when due, and a full sync when the
// relay's hubs changed since the last successful one.
func (s *Syncer) Step(ctx context.Context) error {
	if time.Since(s.lastBeat) >= HeartbeatInterval {
		if err := s.o.Registry.Announce(ctx, s.o.Self); err != nil {
			return err
		}
		// Used and expired tokens are kept a while for the audit's sake.
		if err := s.o.Registry.PurgeTokens(ctx, TokenRetention); err != nil {
			return err
		}
		s.lastBeat = time.Now()
	}
	gen, err := s.o.Registry.Gen(ctx, s.o.Self.Name)
	if err != nil {
		return err
	}
	if s.synced && gen == s.gen {
		return nil
	}
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.gen, s.synced = gen, true
	return nil
}

func (s *Syncer) sync(ctx context.Context) error {
	hubs, err := s.o.Registry.Hubs(ctx, s.o.Self.Name)
	if err != nil {
		return err
	}
	if s.o.MapFile != "" && s.o.UpstreamsFile != "" {
		m, u := RenderNginx(hubs)
		// Upstreams first: the map must never name one nginx lacks.
		changedU, err := writeAtomic(s.o.UpstreamsFile, u)
		if err != nil {
			return err
		}
		changedM, err := writeAtomic(s.o.MapFile, m)
		if err != nil {
			return err
		}
		s.reload = s.reload || changedU || changedM
		if s.reload {
			if err := s.reloadNginx(ctx); err != nil {
				return err
			}
		}
		s.reload = false
	}
	if s.o.StopSessions {
		if err := s.stopOrphans(hubs); err != nil {
			return err
		}
	}
	s.o.Logger.Info("relay synced", "hubs", len(hubs))
	return nil
}

// stopOrphans ends the sessions listening on ports of this relay's set
// that no enrolled hub holds any more.
func (s *Syncer) stopOrphans(hubs []Hub) error {
	ls, err := Listeners()
	if err != nil {
		return err
	}
	held := map[int]bool{}
	for _, h := range hubs {
		held[h.Port] = true
	}
	orphans := map[uint64]bool{}
	for port, ino := range ls {
		if s.o.Self.Ports.Contains(port) && !held[port] {
			orphans[ino] = true
		}
	}
	pids, err := stopHolders(orphans)
	if len(pids) > 0 {
		s.o.Logger.Info("stopped sessions of removed hubs", "pids", pids)
	}
	return err
}

func (s *Syncer) reloadNginx(ctx context.Context) error {
	if s.o.ReloadPIDFile != "" {
		b, err := os.ReadFile(s.o.ReloadPIDFile)
		if err != nil {
			return fmt.Errorf("relay: reload nginx: %w", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			return fmt.Errorf("relay: reload nginx: pid file %s holds %q", s.o.ReloadPIDFile, clip(string(b)))
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return fmt.Errorf("relay: reload nginx (pid %d): %w", pid, err)
		}
		return nil
	}
	if len(s.o.Reload) == 0 {
		return nil
	}
	out, err := exec.CommandContext(ctx, s.o.Reload[0], s.o.Reload[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("relay: reload %v: %w: %s", s.o.Reload, err, clip(string(out)))
	}
	return nil
}
