package semantictest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

const killDirEnv = "ORDO_SEMANTIC_KILL_DIR"

// defineWaiting defines the workflows of the kill test: an event step, an
// async step, a timer and a deferred key.
func defineWaiting(h *semantictest.Harness, tokens chan string) {
	h.DefineApproval()
	h.DefineAsync(time.Minute, tokens)
	h.DefineDeferred()
	h.Define(workflow.New("timer", workflow.Wait("nap", time.Second)), `
name: timer
steps: [{name: nap, type: wait, duration: 1s}]
`)
}

// TestKillChild is the child process of TestKillWhileWaiting; it does
// nothing unless run by it.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killDirEnv)
	if dir == "" {
		t.Skip("child of TestKillWhileWaiting")
	}
	store, err := sqlitejournal.New(context.Background(), filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	h := semantictest.NewHarness(t, store)
	tokens := make(chan string, 8)
	defineWaiting(h, tokens)
	event := h.Start("approval", `{}`)
	async := h.Start("async", `{}`)
	timer := h.Start("timer", `{}`)
	d1 := h.Start("deferred", `{"id": "k1", "account": "A"}`)
	d2 := h.Start("deferred", `{"id": "k2", "account": "A"}`)
	h.Scheduled(event, "approve", 1)
	<-tokens
	h.Await(timer, "timer started", func(e journal.Event) bool { return e.Kind == journal.TimerStarted })
	h.Scheduled(d1, "hold", 1)
	runs := strings.Join([]string{event, async, timer, d1, d2}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "runs.tmp"), []byte(runs), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "runs.tmp"), filepath.Join(dir, "runs")); err != nil {
		t.Fatal(err)
	}
	select {} // wait to be killed
}

// TestKillWhileWaiting SIGKILLs a process whose runs wait for an event, a
// callback, a timer and a deferred key, then resumes them in this process
// on the same SQLite file and finishes them.
func TestKillWhileWaiting(t *testing.T) {
	if os.Getenv(killDirEnv) != "" {
		t.Skip("in the child")
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var runs []string
	deadline := time.Now().Add(time.Minute)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "runs")); err == nil {
			runs = strings.Split(string(b), "\n")
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the child never got its runs waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	store, err := sqlitejournal.New(context.Background(), filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := semantictest.NewHarness(t, store)
	defineWaiting(h, make(chan string, 8))
	if _, err := h.RT.Resume(h.Ctx); err != nil {
		t.Fatal(err)
	}
	event, async, timer, d1, d2 := runs[0], runs[1], runs[2], runs[3], runs[4]
	h.Signal(event, "approved", `"ok"`)
	err = h.RT.Complete(h.Ctx, h.Token(async, "ask", 1),
		step.Response{Result: step.Result{Output: json.RawMessage(`"ok"`)}})
	if err != nil {
		t.Fatal(err)
	}
	h.Signal(d1, "go", `{"fail": false}`)
	for _, run := range []string{event, async, timer, d1} {
		h.Wait(run, journal.StatusCompleted)
	}
	h.Scheduled(d2, "hold", 1)
	h.Signal(d2, "go", `{"fail": false}`)
	h.Wait(d2, journal.StatusCompleted)
}
