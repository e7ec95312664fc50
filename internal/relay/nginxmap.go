package relay

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// RenderMap is the nginx map include for a relay's hubs: one
// "hub-<id>.<domain> PORT;" line per hub, in the registry's order. The
// relay's nginx block maps $host through it to the hub's port.
func RenderMap(hubs []Hub) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by hubagent relay serve from the registry; do not edit.\n")
	for _, h := range hubs {
		b.WriteString(h.PublicName)
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(h.Port))
		b.WriteString(";\n")
	}
	return b.Bytes()
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
