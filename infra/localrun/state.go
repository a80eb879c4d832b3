package localrun

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// writeState writes Status to Options.StateFile atomically.
func (s *Stack) writeState() error {
	b, err := json.MarshalIndent(s.Status(), "", "  ")
	if err != nil {
		return err
	}
	path := s.opts.StateFile
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// stateLoop refreshes the state file every 2 s while the stack runs.
func (s *Stack) stateLoop(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.writeState()
		}
	}
}

// ReadState reads the Status that a running Up (with Options.StateFile)
// keeps in path. To stop that stack, signal Status.RunnerPID (SIGTERM/
// SIGINT) and let the runner Close or Down it.
func ReadState(path string) (*Status, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
