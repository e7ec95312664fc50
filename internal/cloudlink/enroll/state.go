// Package enroll is the hub side of enrollment with a relay: it sends the
// hub's id and a fresh public key to the relay's enrollment service over
// verified HTTPS, keeps the answer in the data directory (never in the
// packaged configuration file, which stays the user's), and deregisters
// the hub on request.
package enroll

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hubagent/hubagent/internal/enrollwire"
)

// StateFileName is the enrollment's file in the data directory.
const StateFileName = "tunnel_enrollment.json"

// maxStateFile bounds the file read back at start-up.
const maxStateFile = 32 << 10

// State is what the hub keeps of its enrollment.
type State struct {
	enrollwire.Enrollment
	URL        string    `json:"enrollUrl"` // the enrollment service, for leave and re-enrollment
	CAFile     string    `json:"caFile,omitempty"`
	EnrolledAt time.Time `json:"enrolledAt"`
}

// StatePath is the enrollment's path in dataDir.
func StatePath(dataDir string) string { return filepath.Join(dataDir, StateFileName) }

// Load reads the enrollment in dataDir; (nil, nil) when the hub is not
// enrolled. A damaged file is an error and is left in place.
func Load(dataDir string) (*State, error) {
	path := StatePath(dataDir)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enrollment %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, fmt.Errorf("enrollment %s: %w", path, err)
	}
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("enrollment %s larger than %d bytes", path, maxStateFile)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("enrollment %s: %w (run 'hubagent tunnel enroll' again)", path, err)
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("enrollment %s: %w", path, err)
	}
	return &s, nil
}

// save writes the enrollment (0600) through a temporary file and rename.
func save(dataDir string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := StatePath(dataDir)
	tmp, err := os.CreateTemp(dataDir, ".enrollment-*")
	if err != nil {
		return fmt.Errorf("enrollment %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("enrollment %s: %w", path, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("enrollment %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("enrollment %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("enrollment %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("enrollment %s: %w", path, err)
	}
	return nil
}

// Forget removes the enrollment from dataDir.
func Forget(dataDir string) error {
	if err := os.Remove(StatePath(dataDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("enrollment: %w", err)
	}
	return nil
}
