package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// pushNote pushes a workflow without a key expression to db.
func pushNote(t *testing.T, db string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "note.yaml")
	def := "name: note\nversion: \"1\"\nsteps:\n  - name: echo\n    type: pass\n    output: input\n"
	if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ordo(t, db, "definitions", "push", file); err != nil {
		t.Fatal(err)
	}
}

// stdout runs the CLI with args and returns what it printed.
func stdout(t *testing.T, db string, args ...string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		done <- b.String()
	}()
	runErr := ordo(t, db, args...)
	os.Stdout = old
	w.Close()
	out := <-done
	if runErr != nil {
		t.Fatalf("ordo %v: %v", args, runErr)
	}
	return out
}

func noteRuns(t *testing.T, db string) []journal.Run {
	t.Helper()
	s, err := sqlitejournal.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, _, err := s.Runs(context.Background(), journal.Query{Workflow: "note"})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestKeylessStartIsANewRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	pushNote(t, db)
	first := stdout(t, db, "start", "note", "--input", `{"x":1}`)
	second := stdout(t, db, "start", "note", "--input", `{"x":2}`)
	if first == second || !strings.Contains(second, "(new: true)") {
		t.Fatalf("two keyless starts printed\n%s%s want two new runs", first, second)
	}
	if runs := noteRuns(t, db); len(runs) != 2 {
		t.Fatalf("%d note runs journaled, want 2", len(runs))
	}
	for _, out := range []string{first, second} {
		run := strings.Fields(out)[1]
		run = strings.TrimSuffix(run, ":")
		if _, events := head(t, db, run); len(events) == 0 {
			t.Errorf("printed run %q is not in the journal", run)
		}
	}
}

func TestStartWithKeyDeduplicates(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	pushNote(t, db)
	stdout(t, db, "start", "note", "--key", "K", "--input", `{"x":1}`)
	again := stdout(t, db, "start", "note", "--key", "K", "--input", `{"x":1}`)
	if !strings.Contains(again, "run note/K:") || !strings.Contains(again, "(new: false)") {
		t.Fatalf("second start with --key K printed %q, want the existing run note/K", again)
	}
	if runs := noteRuns(t, db); len(runs) != 1 {
		t.Fatalf("%d note runs journaled, want 1", len(runs))
	}
}

// TestStartReportsDeferral starts a run of a deferred workflow while the
// run holding its key is in review: the CLI says so at once, naming that
// run, instead of waiting and calling it running.
func TestStartReportsDeferral(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	file := filepath.Join(t.TempDir(), "serial.yaml")
	def := `name: serial
version: "1"
key: input.id
deferredKey: input.account
steps:
  - name: check
    type: pass
    output: input
    error: 'input.bad ? "bad input" : ""'
    terminal: true
`
	if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ordo(t, db, "definitions", "push", file); err != nil {
		t.Fatal(err)
	}
	if out := stdout(t, db, "start", "serial", "--input", `{"id":"a","account":"acc","bad":true}`); !strings.Contains(out, "run serial/a: review") {
		t.Fatalf("first run: %q, want it in review", out)
	}
	began := time.Now()
	out := stdout(t, db, "start", "serial", "--input", `{"id":"b","account":"acc","bad":false}`, "--wait", "20s")
	if !strings.Contains(out, "run serial/b: deferred behind serial/a (review)") {
		t.Fatalf("second run: %q, want it reported deferred behind serial/a", out)
	}
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("the CLI waited %s for a run that cannot start until an operator acts", d)
	}
}
