package sqlitejournal_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// holderEnv, when set to a journal path, makes TestWriterLockAcrossProcesses
// run as the child that holds the writer lock: it opens the journal, starts
// one run, prints "ready" and keeps the journal open until its stdin closes.
const holderEnv = "SQLITEJOURNAL_LOCK_HOLDER"

// TestWriterLockAcrossProcesses re-runs the test binary as a child that
// writes to a journal, and checks from this process that a second writer
// fails at open naming the child, that a read-only open still reads what the
// child wrote, and that the lock goes with the child, whether it closes the
// journal or is killed.
func TestWriterLockAcrossProcesses(t *testing.T) {
	if path := os.Getenv(holderEnv); path != "" {
		holdLock(t, path)
		return
	}
	for _, exit := range []string{"close", "kill"} {
		t.Run(exit, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.db")
			child, stdin := startHolder(t, path)

			_, err := sqlitejournal.New(t.Context(), path)
			var locked *sqlitejournal.LockedError
			if !errors.As(err, &locked) || !errors.Is(err, sqlitejournal.ErrLocked) {
				t.Fatalf("second writer: got %v, want a LockedError", err)
			}
			if locked.Holder.PID != child.Process.Pid {
				t.Errorf("holder pid: got %d, want the child's %d", locked.Holder.PID, child.Process.Pid)
			}
			for _, want := range []string{fmt.Sprintf("pid %d", child.Process.Pid), "-test.run=^TestWriterLockAcrossProcesses$", path, "read-only"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}

			ro, err := sqlitejournal.New(t.Context(), path, sqlitejournal.ReadOnly())
			if err != nil {
				t.Fatalf("read-only open beside the writer: %v", err)
			}
			head, _, err := ro.Load(t.Context(), "run-held")
			if err != nil || head.Seq != 1 {
				t.Errorf("read-only load of the child's run: got %+v, %v", head, err)
			}
			if err := ro.Close(); err != nil {
				t.Fatal(err)
			}

			if exit == "kill" {
				child.Process.Kill()
			}
			stdin.Close()
			child.Wait()
			s, err := sqlitejournal.New(t.Context(), path)
			if err != nil {
				t.Fatalf("writer after the holder's %s: %v", exit, err)
			}
			defer s.Close()
			mustAppend(t, s, journal.Commit{Run: "run-held", After: 1, Events: transition(1)})
		})
	}
}

// startHolder starts the child that holds path's writer lock and waits for
// it to be ready. Closing the returned writer tells it to close and exit.
func startHolder(t *testing.T, path string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterLockAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			go io.Copy(io.Discard, out)
			return cmd, stdin
		}
	}
	t.Fatalf("holder exited before it was ready: %v", sc.Err())
	return nil, nil
}

func holdLock(t *testing.T, path string) {
	s, err := sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(t.Context(), startCommit("run-held")); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustAppend(t *testing.T, s *sqlitejournal.Store, c journal.Commit) {
	t.Helper()
	if _, err := s.Append(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// TestWriterLockInProcess checks that two Stores in one process exclude
// each other too, and that Close releases the lock.
func TestWriterLockInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	s, err := sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlitejournal.New(t.Context(), path)
	if !errors.Is(err, sqlitejournal.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second writer in one process: got %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatalf("writer after Close: %v", err)
	}
	s.Close()
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	if _, err := sqlitejournal.New(t.Context(), path, sqlitejournal.ReadOnly()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open of a missing file: got %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open created %s", path)
	}
	w := newStoreAt(t, path)
	mustAppend(t, w, startCommit("run-1"))

	ro, err := sqlitejournal.New(t.Context(), path, sqlitejournal.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Append(t.Context(), journal.Commit{Run: "run-1", After: 1, Events: transition(1)}); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("append on a read-only store: got %v, want ErrReadOnly", err)
	}
	if err := ro.PutDefinition(t.Context(), journal.Definition{Hash: "h"}); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("put definition on a read-only store: got %v, want ErrReadOnly", err)
	}
	if _, err := ro.AppendStream(t.Context(), "s", 0, transition(1)); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("append to a stream on a read-only store: got %v, want ErrReadOnly", err)
	}
	if _, err := ro.ResolveReview(t.Context(), "x", journal.Resolution{}); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("resolve review on a read-only store: got %v, want ErrReadOnly", err)
	}
	// It sees what the writer commits after it opened.
	mustAppend(t, w, journal.Commit{Run: "run-1", After: 1, Status: journal.StatusReview, Events: transition(1)})
	head, _, err := ro.Load(t.Context(), "run-1")
	if err != nil || head.Seq != 2 || head.Status != journal.StatusReview {
		t.Errorf("read-only load: got %+v, %v; want seq 2 in review", head, err)
	}
	if _, err := sqlitejournal.New(t.Context(), ":memory:", sqlitejournal.ReadOnly()); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("read-only :memory:: got %v, want ErrReadOnly", err)
	}
}

func newStoreAt(t *testing.T, path string) *sqlitejournal.Store {
	t.Helper()
	s, err := sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
