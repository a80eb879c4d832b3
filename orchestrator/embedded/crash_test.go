package embedded_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

const crashRuns = 40

var crashSteps = []string{"a", "b", "c", "d"}

// TestCrashChild is the child process of TestKillAndResume; it does nothing
// unless run by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("ORDO_CRASH_DIR")
	if dir == "" {
		t.Skip("child of TestKillAndResume")
	}
	ctx := context.Background()
	store, err := sqlitejournal.New(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	execLog, err := os.OpenFile(filepath.Join(dir, "executions.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	record := func(kind, what string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(execLog, "%s %s\n", kind, what)
	}
	reg := step.NewRegistry()
	reg.Register("work", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		req, _ := step.RequestFrom(ctx)
		record("step", req.Run+"/"+req.Step)
		if os.Getenv("ORDO_CRASH_PHASE") == "1" && req.Run == fmt.Sprintf("crash/r%02d", crashRuns-1) && req.Step == "d" {
			select {} // one run is always mid-flight when the kill lands
		}
		time.Sleep(3 * time.Millisecond)
		if req.Step == "d" {
			step.Emit(ctx, step.Effect{Kind: "notify", Target: req.Run})
		}
		return map[string]any{"step": req.Step}, nil
	}))
	def := workflow.New("crash", workflow.Key("input.id"),
		workflow.Step("a", "work"),
		workflow.Step("b", "work", workflow.After("a")),
		workflow.Step("c", "work", workflow.After("a")),
		workflow.Step("d", "work", workflow.After("b", "c")),
	).MustBuild(workflow.Functions(reg.Has))
	rt := embedded.New(store, reg, embedded.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	rt.Effects.Handle("notify", effect.HandlerFunc(func(_ context.Context, run string, e journal.Effect) error {
		record("effect", e.ID)
		return nil
	}))
	if err := rt.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	runs := make([]string, crashRuns)
	for i := range crashRuns {
		st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "crash", Input: []byte(fmt.Sprintf(`{"id":"r%02d"}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = st.Run
	}
	if os.Getenv("ORDO_CRASH_PHASE") == "1" {
		select {} // run until killed
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, run := range runs {
		if s, err := rt.Wait(wctx, run); err != nil || s != journal.StatusCompleted {
			t.Fatalf("%s: %s %v", run, s, err)
		}
	}
	rt.Close() // waits for effects
	store.Close()
}

// TestKillAndResume kills a process running 40 runs with SIGKILL while they
// are in flight, restarts it on the same journal, and checks that every run
// completes with each step journaled exactly once, that a step was executed
// again only if the kill interrupted it, and that every effect ran.
func TestKillAndResume(t *testing.T) {
	if os.Getenv("ORDO_CRASH_DIR") != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	child := func(phase string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "ORDO_CRASH_DIR="+dir, "ORDO_CRASH_PHASE="+phase)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd
	}
	first := child("1")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some runs have finished and others are mid-flight.
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "executions.log"))
		if n := strings.Count(string(b), "step "); n >= crashRuns*len(crashSteps)/3 {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the first process made no progress")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	ctx := context.Background()
	store, err := sqlitejournal.New(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	unfinished := 0
	for i := range crashRuns {
		head, _, err := store.Load(ctx, fmt.Sprintf("crash/r%02d", i))
		if err != nil || head.Status != journal.StatusCompleted {
			unfinished++
		}
	}
	store.Close()
	t.Logf("killed with %d of %d runs unfinished", unfinished, crashRuns)
	if unfinished == 0 {
		t.Fatal("every run finished before the kill: the resume path was not exercised")
	}

	if err := child("2").Run(); err != nil {
		t.Fatalf("second process: %v", err)
	}

	store, err = sqlitejournal.New(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "executions.log"))
	executed := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		executed[line]++
	}
	for i := range crashRuns {
		run := fmt.Sprintf("crash/r%02d", i)
		head, events, err := store.Load(ctx, run)
		if err != nil || head.Status != journal.StatusCompleted {
			t.Fatalf("%s: %+v %v, want completed", run, head, err)
		}
		if n := countKind(events, journal.RunStarted, ""); n != 1 {
			t.Errorf("%s: %d RunStarted", run, n)
		}
		for _, s := range crashSteps {
			if n := countKind(events, journal.StepSucceeded, s); n != 1 {
				t.Errorf("%s: step %s journaled as succeeded %d times, want 1", run, s, n)
			}
			// At least once; twice only when the kill caught it in flight.
			if n := executed["step "+run+"/"+s]; n < 1 || n > 2 {
				t.Errorf("%s: step %s executed %d times", run, s, n)
			}
		}
		for _, e := range events {
			for _, ef := range e.Effects {
				if executed["effect "+ef.ID] < 1 {
					t.Errorf("%s: effect %s never ran", run, ef.ID)
				}
				if countEffect(events, ef.ID) != 1 {
					t.Errorf("%s: effect %s has %d outcomes, want 1", run, ef.ID, countEffect(events, ef.ID))
				}
			}
		}
	}
}

func countKind(events []journal.Event, k journal.Kind, stepName string) int {
	n := 0
	for _, e := range events {
		if e.Kind == k && (stepName == "" || e.Step == stepName) {
			n++
		}
	}
	return n
}

func countEffect(events []journal.Event, id string) int {
	n := 0
	for _, e := range events {
		if (e.Kind == journal.EffectSucceeded || e.Kind == journal.EffectFailed) && e.EffectID == id {
			n++
		}
	}
	return n
}
