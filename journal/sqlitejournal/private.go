package sqlitejournal

import (
	"errors"
	"io/fs"
	"os"
)

// createPrivate creates the journal file at path, readable and writable by
// its owner only (0600), when it does not exist yet. SQLite gives the
// files beside it (-wal, -shm) the database file's mode. Whoever can read
// the file reads every run; whoever can write it acts as any role (the
// CLI's direct mode is not authenticated), so it is private from the start.
// An existing file keeps its mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
