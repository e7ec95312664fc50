package relay

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// RenderNginx renders what the relay's nginx block includes for the
// enrolled hubs: the map lines "hub-<id>.<domain> hub_<id>;" and one
// upstream block per hub, so nginx keeps a few idle connections to each
// hub's port. Without them every partner request opens a new forwarded
// channel, and OpenSSH (no TCP_NODELAY on a session without a pty) then
// stalls each channel open behind the hub's delayed ACK: a busy hub gets
// tens of requests per second instead of thousands (see docs/relay.md,
// capacity).
func RenderNginx(hubs []Hub) (mapFile, upstreams []byte) {
	var m, u bytes.Buffer
	const head = "# Written by hubagent relay serve from the registry; do not edit.\n"
	m.WriteString(head)
	u.WriteString(head)
	for _, h := range hubs {
		name := "hub_" + h.ID
		m.WriteString(h.PublicName + " " + name + ";\n")
		u.WriteString("upstream " + name + " { server 127.0.0.1:" + strconv.Itoa(h.Port) + " max_fails=0; keepalive 2; keepalive_timeout 60s; }\n")
	}
	return m.Bytes(), u.Bytes()
}

// writeAtomic replaces path with data (mode 0644: nginx's workers read
// it), through a temporary file and rename, so nginx never reads half.
// It reports whether the content changed.
func writeAtomic(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hubs-map-*")
	if err != nil {
		return false, fmt.Errorf("relay: map %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("relay: map %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, fmt.Errorf("relay: map %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("relay: map %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("relay: map %s: %w", path, err)
	}
	return true, nil
}
