package sqlitejournal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrLocked is returned (wrapped in a *LockedError) by New when another
// Store, in this process or another, already writes to the file.
var ErrLocked = errors.New("sqlitejournal: journal locked by another writer")

// ErrReadOnly is returned by the write methods of a Store opened with
// ReadOnly.
var ErrReadOnly = errors.New("sqlitejournal: store is read-only")

// LockedError says who holds a journal's writer lock. It matches ErrLocked
// with errors.Is.
type LockedError struct {
	// Path is the lock file, beside the database.
	Path string
	// Holder is what the holder wrote in the lock file when it took it; its
	// fields are zero if the lock file could not be read.
	Holder Holder
}

// Holder identifies the process that holds a journal's writer lock.
type Holder struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.Holder.PID != 0 {
		who = fmt.Sprintf("pid %d (%s)", e.Holder.PID, e.Holder.Command)
	}
	return fmt.Sprintf("journal locked: it is written by %s, per %s; "+
		"stop that process or send the command through it, or open the journal read-only",
		who, e.Path)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockPath is the lock file of the database at path.
func lockPath(path string) string { return path + ".lock" }

// writerLock is the exclusive lock a writing Store holds on its file for
// its whole life. The lock is an advisory lock on the open lock file (see
// lock_unix.go), so the operating system releases it when the holder exits,
// however it exits: a stale lock file never blocks the next writer.
type writerLock struct {
	f *os.File
}

// acquireLock takes the writer lock of the database at path, or returns a
// *LockedError naming the holder.
func acquireLock(path string) (*writerLock, error) {
	lp := lockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	if !ok {
		b, _ := os.ReadFile(lp)
		f.Close()
		e := &LockedError{Path: lp}
		_ = json.Unmarshal(b, &e.Holder) // an unreadable holder is reported as unknown
		return nil, e
	}
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Command: strings.Join(os.Args, " ")})
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	return &writerLock{f: f}, nil
}

// release clears the holder and drops the lock. The file stays: removing
// it would let a process that opened it before the removal lock a file no
// one else can see.
func (l *writerLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Truncate(0)
	err = errors.Join(err, unlock(l.f), l.f.Close())
	l.f = nil
	return err
}

// writable reports why s cannot write, if it cannot: closed or read-only.
func (s *Store) writable() error {
	if s.isClosed() {
		return ErrClosed
	}
	if s.opts.readOnly {
		return ErrReadOnly
	}
	return nil
}
