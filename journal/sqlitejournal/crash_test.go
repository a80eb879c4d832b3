package sqlitejournal_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// crashEnv, when set, makes TestCrashDurability run as the child that
// writes: "<path>,<round>".
const crashEnv = "SQLITEJOURNAL_CRASH_CHILD"

// TestCrashDurability re-runs the test binary as a child that appends to the
// journal from many goroutines and reports each successful Append on stdout.
// The parent kills it with SIGKILL mid-stream, reopens the file and checks
// that every acknowledged commit is there and every run is consistent. It
// does this several times on the same file, so later rounds also recover
// from the earlier crashes.
func TestCrashDurability(t *testing.T) {
	if v := os.Getenv(crashEnv); v != "" {
		crashChild(t, v)
		return
	}
	if testing.Short() {
		t.Skip("skipping crash test in short mode")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	acked := map[string]int64{} // run -> highest acknowledged seq
	for round := range 3 {
		n := crashRound(t, path, round, acked)
		t.Logf("round %d: %d appends acknowledged before SIGKILL", round, n)
		checkJournal(t, path, acked)
		if t.Failed() {
			return
		}
	}
}

// crashRound runs one child, kills it after a while and records what it
// acknowledged.
func crashRound(t *testing.T, path string, round int, acked map[string]int64) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", crashEnv, path, round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAfter := 300 + 250*round
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()

	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		seq, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("bad ack %q", sc.Text())
		}
		acked[f[1]] = max(acked[f[1]], seq)
		if n++; n == killAfter {
			cmd.Process.Kill() // SIGKILL: no chance to close or flush anything
		}
	}
	err = cmd.Wait()
	if n < killAfter {
		t.Fatalf("child exited after %d acks (%v), before it was killed", n, err)
	}
	return n
}

// checkJournal reopens the file and checks every acknowledged commit and the
// consistency of every run in it.
func checkJournal(t *testing.T, path string, acked map[string]int64) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity check: %q, %v", integrity, err)
	}
	db.Close()

	s, err := sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	listed := map[string]bool{}
	for q := (journal.Query{Limit: 500}); ; {
		runs, cursor, err := s.Runs(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			listed[r.ID] = true
		}
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	for run, seq := range acked {
		if !listed[run] {
			t.Errorf("%s: acknowledged up to seq %d but not listed", run, seq)
		}
	}
	for run := range listed {
		head, events, err := s.Load(t.Context(), run)
		if err != nil { // Load also checks that commits are 1..head.Seq
			t.Errorf("%s: %v", run, err)
			continue
		}
		if head.Seq < acked[run] {
			t.Errorf("%s: journal ends at seq %d, but seq %d was acknowledged", run, head.Seq, acked[run])
		}
		for i, e := range events {
			if want := fmt.Sprintf("%s/%d", run, e.Seq); e.Step != want || e.Seq != int64(i+1) {
				t.Errorf("%s: event %d is %s at seq %d, want %s", run, i, e.Step, e.Seq, want)
			}
		}
	}
}

// crashChild appends until it is killed: 16 writers, each filling runs of
// 8 commits one after another, printing "ack <run> <seq>" after each
// successful Append.
func crashChild(t *testing.T, v string) {
	path, round, _ := strings.Cut(v, ",")
	time.AfterFunc(60*time.Second, func() { os.Exit(3) }) // never outlive a lost parent
	ctx := context.Background()
	s, err := sqlitejournal.New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ack := func(run string, seq int64) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, "ack %s %d\n", run, seq)
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for r := 0; ; r++ {
				run := fmt.Sprintf("c%s-w%02d-r%04d", round, w, r)
				for seq := int64(1); seq <= 8; seq++ {
					c := journal.Commit{Run: run, After: seq - 1,
						Events: []journal.Event{{Kind: journal.StepSucceeded, Step: fmt.Sprintf("%s/%d", run, seq),
							Output: []byte(`{"payload":"` + strings.Repeat("x", 400) + `"}`)}}}
					if seq == 1 {
						c.Workflow, c.DefHash, c.Status = "crash", "sha256:crash", journal.StatusRunning
					}
					if _, err := s.Append(ctx, c); err != nil {
						fmt.Fprintln(os.Stderr, "child:", err)
						os.Exit(4)
					}
					ack(run, seq)
				}
			}
		})
	}
	wg.Wait()
}
