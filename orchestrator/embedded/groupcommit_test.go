package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
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

// errCrashed is what a crashed process gets from everything it calls.
var errCrashed = errors.New("the process crashed")

// errFailed is a group commit that failed and left its process alive.
var errFailed = errors.New("the group commit failed")

// Faults the group-commit test injects, by kind.
const (
	failInBatch      = "group commit failed mid-batch (process lives)"
	crashInBatch     = "crash mid-batch (some commits applied, none committed)"
	crashAfterCommit = "crash after the commit, before callers are answered"
	// crashesOfAKind bounds the crashes of each kind, and thus the test's
	// time.
	crashesOfAKind = 2
	// failGap separates two failed batches by more than a Drive's retries
	// of a failed commit take: a commit fails at most once, so no Drive
	// gives up on one (which would leave its attempts to their leases).
	failGap = 400 * time.Millisecond
)

// gcProcess is one embedded runtime's life on the shared journal file.
type gcProcess struct {
	dead  atomic.Bool
	store *sqlitejournal.Store
	rt    *embedded.Runtime
	// ctx is the process's life: it ends when the process crashes, so
	// what it was doing (a Resume) stops there.
	ctx  context.Context
	stop context.CancelFunc
}

// crash kills p.
func (p *gcProcess) crash() {
	p.dead.Store(true)
	p.stop()
}

// gcStore is the journal as a process sees it: a dead process's calls
// fail. It records what every Append told its caller.
type gcStore struct {
	*sqlitejournal.Store
	p   *gcProcess
	log *appendLog
}

func (s gcStore) alive() error {
	if s.p.dead.Load() {
		return errCrashed
	}
	return nil
}

func (s gcStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	if err := s.alive(); err != nil {
		return 0, err
	}
	seq, err := s.Store.Append(ctx, c)
	s.log.add(c, seq, err)
	return seq, err
}

func (s gcStore) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	if err := s.alive(); err != nil {
		return journal.Run{}, nil, err
	}
	return s.Store.Load(ctx, run)
}

func (s gcStore) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	return s.Store.Since(ctx, run, after)
}

func (s gcStore) PutSnapshot(ctx context.Context, run string, seq int64, data []byte) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Store.PutSnapshot(ctx, run, seq, data)
}

func (s gcStore) PutSnapshotPart(ctx context.Context, run, key string, data []byte) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Store.PutSnapshotPart(ctx, run, key, data)
}

// appendLog records each Append's commit and answer.
type appendLog struct {
	mu      sync.Mutex
	answers []appendAnswer
}

type appendAnswer struct {
	c   journal.Commit
	seq int64
	err error
}

func (l *appendLog) add(c journal.Commit, seq int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, appendAnswer{c: c, seq: seq, err: err})
}

// injector decides the faults of every process's group commits, in the
// order batches of two or more commits come: a plan by batch number, so
// every kind is injected whatever the timing.
type injector struct {
	mu       sync.Mutex
	batches  int
	lastFail time.Time
	counts   map[string]int
}

// hook is p's sqlitejournal fault hook.
func (in *injector) hook(p *gcProcess) func(sqlitejournal.Fault) error {
	return func(f sqlitejournal.Fault) error {
		if p.dead.Load() {
			return errCrashed // a dead process writes nothing more
		}
		if f.Batch < 2 {
			return nil
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if f.Point == sqlitejournal.FaultInBatch && f.Applied == 0 {
			in.batches++
		}
		n := in.batches
		mid := f.Point == sqlitejournal.FaultInBatch && f.Applied == f.Batch/2
		switch {
		case mid && n >= 20 && n%5 == 1 && time.Since(in.lastFail) > failGap:
			in.counts[failInBatch]++
			in.lastFail = time.Now()
			return errFailed
		case mid && n%5 == 3 && in.counts[crashInBatch] < crashesOfAKind:
			in.counts[crashInBatch]++
			p.crash()
			return errCrashed
		case f.Point == sqlitejournal.FaultAfterCommit && n%5 == 4 && in.counts[crashAfterCommit] < crashesOfAKind:
			in.counts[crashAfterCommit]++
			p.crash()
			return errCrashed
		}
		return nil
	}
}

// TestCrashInsideGroupCommit drives runs concurrently on the SQLite
// journal (so its writer groups their commits) and injects faults inside
// group commits: a batch failing mid-transaction with its process alive,
// a process crashing mid-batch (some commits applied, none committed) and
// one crashing after the commit, before its callers are answered. A
// crashed runtime is replaced by a new one on the same file, which resumes.
// Every run must complete with nothing lost or doubled (one StepScheduled
// and one result per attempt, each step succeeded once, each effect's
// outcome journaled once and the effect executed), each attempt invoked
// once unless a crash ended it (then at most once), every acknowledged
// Append durable as acknowledged, and every failed one either absent
// (the batch rolled back: retrying it is safe) or, for a crash after the
// commit only, present exactly as sent.
func TestCrashInsideGroupCommit(t *testing.T) {
	const runs = 80
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "journal.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	inj := &injector{counts: map[string]int{}}
	appends := &appendLog{}

	var mu sync.Mutex
	invoked := map[string]int{}  // run/step#attempt -> invocations
	executed := map[string]int{} // effect id -> executions
	def := workflow.New("gc", workflow.Key("input.id"),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{MaxAttempts: 10, InitialInterval: workflow.Duration(10 * time.Millisecond)}),
		workflow.Step("a", "work"),
		workflow.Step("b", "work", workflow.After("a")),
		workflow.Step("c", "work", workflow.After("a")),
		workflow.Step("d", "work", workflow.After("b", "c")),
	).MustBuild()

	boot := func() *gcProcess {
		p := &gcProcess{}
		p.ctx, p.stop = context.WithCancel(ctx)
		st, err := sqlitejournal.New(ctx, path, sqlitejournal.WithFaultHook(inj.hook(p)))
		if err != nil {
			t.Fatalf("open the journal: %v", err)
		}
		p.store = st
		reg := step.NewRegistry()
		reg.Register("work", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
			if p.dead.Load() {
				return nil, errCrashed // its steps die with the process
			}
			req, _ := step.RequestFrom(ctx)
			mu.Lock()
			invoked[fmt.Sprintf("%s/%s#%d", req.Run, req.Step, req.Attempt)]++
			mu.Unlock()
			if req.Step == "d" {
				step.Emit(ctx, step.Effect{Kind: "notify", Target: req.Run})
			}
			return map[string]any{"step": req.Step}, nil
		}))
		p.rt = embedded.New(gcStore{Store: st, p: p, log: appends}, reg, embedded.WithLogger(log))
		p.rt.Effects.Handle("notify", effect.HandlerFunc(func(_ context.Context, _ string, e journal.Effect) error {
			if p.dead.Load() {
				return errCrashed
			}
			mu.Lock()
			executed[e.ID]++
			mu.Unlock()
			return nil
		}))
		if err := p.rt.Engine.Register(ctx, def); err != nil {
			t.Fatalf("register: %v", err)
		}
		return p
	}

	var cur atomic.Pointer[gcProcess]
	cur.Store(boot())
	restarts := 0
	stop := make(chan struct{})
	var sup sync.WaitGroup
	// The supervisor replaces a crashed process; the new runtime resumes
	// the journal before it accepts starts.
	var swap sync.Mutex
	sup.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := cur.Load()
			if !p.dead.Load() {
				continue
			}
			swap.Lock()
			_ = p.rt.Close()
			_ = p.store.Close()
			np := boot()
			if _, err := np.rt.Resume(np.ctx); err != nil && !np.dead.Load() {
				t.Errorf("resume: %v", err)
			}
			cur.Store(np)
			restarts++
			swap.Unlock()
		}
	})

	// Clients start the runs at once (so commits queue together), each
	// retrying until a runtime accepts its start.
	ids := make([]string, runs)
	var clients sync.WaitGroup
	for i := range runs {
		ids[i] = fmt.Sprintf("gc/r%02d", i)
		clients.Go(func() {
			for ctx.Err() == nil {
				swap.Lock()
				p := cur.Load()
				swap.Unlock()
				if _, err := p.rt.Start(ctx, orchestrator.StartRequest{Workflow: "gc",
					Input: fmt.Appendf(nil, `{"id":"r%02d"}`, i)}); err == nil {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	clients.Wait()

	// Poll until every run completed and its effect ran.
	reader, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var stuck []string
	for {
		stuck = stuck[:0]
		for _, run := range ids {
			// Reads use their own context: the dump below outlives ctx.
			head, _, err := reader.Load(context.Background(), run)
			if err != nil || head.Status != journal.StatusCompleted || !effectsDone(reader, run) {
				stuck = append(stuck, run)
			}
		}
		if len(stuck) == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(stuck) > 0 {
		for _, run := range stuck[:min(len(stuck), 3)] {
			head, events, err := reader.Load(context.Background(), run)
			t.Logf("%s: %s at %d (%v)", run, head.Status, head.Seq, err)
			for _, e := range events {
				t.Logf("  %d %s %s#%d %v", e.Seq, e.Kind, e.Step, e.Attempt, e.Error)
			}
		}
		t.Fatalf("%d of %d runs not completed with their effects journaled within the deadline; faults %v", len(stuck), runs, inj.counts)
	}
	close(stop)
	sup.Wait()
	final := cur.Load()
	_ = final.rt.Close()
	final.stop()

	mu.Lock()
	defer mu.Unlock()
	inj.mu.Lock()
	t.Logf("faults injected: %v; %d restarts; %d appends", inj.counts, restarts, len(appends.answers))
	for _, k := range []string{failInBatch, crashInBatch, crashAfterCommit} {
		if inj.counts[k] == 0 {
			t.Errorf("no %q injected: that case was not exercised", k)
		}
	}
	inj.mu.Unlock()

	journals := map[string][]journal.Event{}
	for _, run := range ids {
		_, events, err := final.store.Load(ctx, run)
		if err != nil {
			t.Fatalf("%s: %v", run, err)
		}
		journals[run] = events
		checkRun(t, run, events, invoked, executed)
	}
	checkAppends(t, appends.answers, journals)
	_ = final.store.Close()
}

// effectsDone reports whether every effect run journaled has its outcome.
func effectsDone(s journal.Store, run string) bool {
	_, events, err := s.Load(context.Background(), run)
	if err != nil {
		return false
	}
	want := 0
	for _, e := range events {
		want += len(e.Effects)
		if e.Kind == journal.EffectSucceeded || e.Kind == journal.EffectFailed {
			want--
		}
	}
	return want <= 0
}

// checkRun checks one run's journal for loss and duplication, and its
// invocations and effect executions.
func checkRun(t *testing.T, run string, events []journal.Event, invoked, executed map[string]int) {
	t.Helper()
	type attempt struct {
		step string
		n    int
	}
	scheduled, results := map[attempt]int{}, map[attempt]int{}
	reclaimed := map[attempt]bool{}
	succeeded := map[string]int{}
	for _, e := range events {
		a := attempt{e.Step, e.Attempt}
		switch e.Kind {
		case journal.StepScheduled:
			scheduled[a]++
		case journal.StepSucceeded:
			results[a]++
			succeeded[e.Step]++
		case journal.StepFailed:
			results[a]++
			if e.Error != nil && e.Error.Kind == step.KindLease {
				reclaimed[a] = true
			}
		}
	}
	if n := countKind(events, journal.RunStarted, ""); n != 1 {
		t.Errorf("%s: %d RunStarted, want 1", run, n)
	}
	if n := countKind(events, journal.RunCompleted, ""); n != 1 {
		t.Errorf("%s: %d RunCompleted, want 1", run, n)
	}
	for _, s := range crashSteps {
		if succeeded[s] != 1 {
			t.Errorf("%s: step %s succeeded %d times in the journal, want 1", run, s, succeeded[s])
		}
	}
	for a, n := range scheduled {
		if n != 1 || results[a] != 1 {
			t.Errorf("%s: %s#%d scheduled %d times with %d results, want 1 and 1", run, a.step, a.n, n, results[a])
		}
		got := invoked[fmt.Sprintf("%s/%s#%d", run, a.step, a.n)]
		if got > 1 || got == 0 && !reclaimed[a] {
			t.Errorf("%s: %s#%d invoked %d times, want once (at most once if a crash ended it)", run, a.step, a.n, got)
		}
	}
	for a := range results {
		if scheduled[a] == 0 {
			t.Errorf("%s: a result of %s#%d without its StepScheduled", run, a.step, a.n)
		}
	}
	for _, e := range events {
		for _, ef := range e.Effects {
			if executed[ef.ID] < 1 {
				t.Errorf("%s: effect %s never executed", run, ef.ID)
			}
			if n := countEffect(events, ef.ID); n != 1 {
				t.Errorf("%s: effect %s has %d outcomes journaled, want 1", run, ef.ID, n)
			}
		}
	}
}

// checkAppends checks what each Append told its caller against the final
// journals: an acknowledged commit is there at its sequence; a failed one
// is absent (its batch rolled back, so retrying it was safe: a Drive's
// retry of the same commit then lands it once), or, only when its process
// crashed after the commit, present exactly as sent.
func checkAppends(t *testing.T, answers []appendAnswer, journals map[string][]journal.Event) {
	t.Helper()
	type commitID struct {
		run   string
		after int64
		at    time.Time
	}
	id := func(a appendAnswer) commitID { return commitID{a.c.Run, a.c.After, a.c.At} }
	landed := map[commitID]bool{} // acknowledged appends
	for _, a := range answers {
		if a.err == nil {
			landed[id(a)] = true
		}
	}
	crashedDurable, retried := 0, 0
	for _, a := range answers {
		events, ok := journals[a.c.Run]
		if !ok {
			continue
		}
		var at []journal.Event
		for _, e := range events {
			if e.Seq == a.c.After+1 {
				at = append(at, e)
			}
		}
		same := sameEvents(at, a.c.Events)
		switch {
		case a.err == nil && (a.seq != a.c.After+1 || !same):
			t.Errorf("%s: Append after %d acknowledged as %d, but the journal holds %d other events there", a.c.Run, a.c.After, a.seq, len(at))
		case a.err == nil:
		case errors.Is(a.err, errCrashed):
			if same {
				crashedDurable++
			}
		case same && !landed[id(a)]:
			t.Errorf("%s: Append after %d failed with %v, yet it is in the journal (a caller told of a failure must be able to retry)", a.c.Run, a.c.After, a.err)
		case errors.Is(a.err, errFailed) && a.c.After > 0:
			retried++
		}
	}
	t.Logf("%d appends answered with a crash were durable (crash after the commit); %d commits of a Drive failed with their batch and were retried", crashedDurable, retried)
	if retried == 0 {
		t.Errorf("no commit of a Drive failed with its batch: a Drive's retry was not exercised")
	}
}

// sameEvents reports whether got (read back) holds the events sent.
func sameEvents(got, sent []journal.Event) bool {
	return len(got) == len(sent) && slices.EqualFunc(got, sent, func(g, s journal.Event) bool {
		return g.Kind == s.Kind && g.Step == s.Step && g.Attempt == s.Attempt && g.At.Equal(s.At) && g.EffectID == s.EffectID
	})
}
