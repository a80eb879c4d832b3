package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// snapWorkflow doubles input.items in a map step, five at a time, then
// waits for the event "go"; its output is the doubled items.
var snapWorkflow = workflow.New("snap",
	workflow.Key("input.id"),
	workflow.DefaultRetryPolicy(fastRetry),
	workflow.Map("each", "double", "input.items", workflow.MaxConcurrency(5)),
	workflow.Await("gate", "go", workflow.After("each")),
	workflow.Output("steps.each.output"),
).MustBuild()

var snapHandlers = handlers(map[string]step.HandlerFunc{
	"double": func(_ context.Context, req step.Request) (step.Result, error) {
		var n float64
		if err := json.Unmarshal(req.Input, &n); err != nil {
			return step.Result{}, err
		}
		return step.Result{Output: json.RawMessage(fmt.Sprint(2 * n))}, nil
	},
})

// snapStore counts how runs are read, and can hand out a given snapshot in
// place of the stored one.
type snapStore struct {
	*memjournal.Store
	loads, sinces, parts atomic.Int64
	fake                 []byte // returned by LatestSnapshot when set
	// partFault, when set, makes SnapshotPart return no part ("missing")
	// or garbage ("corrupt").
	partFault string
}

func (s *snapStore) SnapshotPart(ctx context.Context, run, key string) ([]byte, error) {
	s.parts.Add(1)
	switch s.partFault {
	case "missing":
		return nil, fmt.Errorf("part %s: %w", key, journal.ErrNotFound)
	case "corrupt":
		return []byte(`{"items":[{"pha`), nil
	}
	return s.Store.SnapshotPart(ctx, run, key)
}

func (s *snapStore) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	s.loads.Add(1)
	return s.Store.Load(ctx, run)
}

func (s *snapStore) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	s.sinces.Add(1)
	return s.Store.Since(ctx, run, after)
}

func (s *snapStore) LatestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	seq, data, err := s.Store.LatestSnapshot(ctx, run)
	if s.fake != nil {
		return seq, s.fake, err
	}
	return seq, data, err
}

// startSnapRun runs snapWorkflow over 40 items up to its gate on a first
// engine that snapshots every 20 events, keeping every value it can in
// snapshot parts, and returns the run.
func startSnapRun(t *testing.T, ctx context.Context, store *snapStore) string {
	t.Helper()
	e1 := newEngine(t, store, snapHandlers, snapWorkflow, orchestrator.WithSnapshotEvery(20))
	orchestrator.SetPartMin(e1, 1)
	items := make([]string, 40)
	for i := range items {
		items[i] = fmt.Sprint(i + 1)
	}
	st, err := e1.Start(ctx, orchestrator.StartRequest{Workflow: "snap",
		Input: json.RawMessage(`{"id":"s1","items":[` + strings.Join(items, ",") + `]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := driveToGate(t, ctx, e1, st.Run); out.Status.Terminal() || out.Continue || !out.WakeAt.IsZero() {
		t.Fatalf("first engine: %+v, want the run parked at its gate", out)
	}
	seq, _, err := store.Store.LatestSnapshot(ctx, st.Run)
	head, _ := load(t, store.Store, st.Run)
	if err != nil || seq < 2 || head.Seq-seq > 20 {
		t.Fatalf("snapshot after commit %d of %d: %v", seq, head.Seq, err)
	}
	return st.Run
}

// driveToGate drives run until it has nothing to do but wait for its
// event (or ends).
func driveToGate(t *testing.T, ctx context.Context, e *orchestrator.Engine, run string) orchestrator.Outcome {
	t.Helper()
	for range 10000 {
		out, err := e.Drive(ctx, run)
		if err != nil {
			t.Fatalf("Drive %s: %v", run, err)
		}
		if out.Status.Terminal() || (!out.Continue && out.WakeAt.IsZero()) {
			return out
		}
	}
	t.Fatalf("run %s never reached its gate", run)
	return orchestrator.Outcome{}
}

// finish drives the run to its end on a cold engine (a new process) and
// checks the journal: each item scheduled and done once, the doubled items
// as the output.
func finish(t *testing.T, ctx context.Context, store *snapStore, run string) {
	t.Helper()
	e2 := newEngine(t, store, snapHandlers, snapWorkflow, orchestrator.WithSnapshotEvery(20))
	if _, err := e2.Signal(ctx, run, "go", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	out := driveToEnd(t, ctx, e2, run)
	if out.Status != journal.StatusCompleted {
		t.Fatalf("second engine: status %s", out.Status)
	}
	_, events := load(t, store.Store, run)
	seen := map[string]bool{}
	for _, e := range events {
		if e.Kind == journal.StepScheduled || e.Kind == journal.StepSucceeded {
			k := fmt.Sprintf("%s %s#%d@%d", e.Kind, e.Step, e.Index, e.Attempt)
			if seen[k] {
				t.Errorf("%s journaled twice", k)
			}
			seen[k] = true
		}
	}
	want := make([]string, 40)
	for i := range want {
		want[i] = fmt.Sprint(2 * (i + 1))
	}
	last := events[len(events)-1]
	if w := "[" + strings.Join(want, ",") + "]"; last.Kind != journal.RunCompleted || string(last.Output) != w {
		t.Fatalf("last event %s %s, want RunCompleted %s", last.Kind, last.Output, w)
	}
}

// A cold engine loads a run from its snapshot and the commits after it,
// never the whole journal, and finishes it as a full fold would.
func TestColdDriveFromSnapshot(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := &snapStore{Store: memjournal.New()}
	run := startSnapRun(t, ctx, store)
	store.loads.Store(0)
	finish(t, ctx, store, run)
	if n := store.loads.Load(); n != 0 {
		t.Errorf("the cold engine loaded the whole journal %d times", n)
	}
	if store.sinces.Load() == 0 {
		t.Error("the cold engine never read commits after the snapshot")
	}
}

// A snapshot of another format, of another definition, that does not
// decode, or that is not JSON at all, is ignored: the run is folded in
// full and finishes the same.
func TestBadSnapshotFallsBackToFold(t *testing.T) {
	t.Parallel()
	format := fmt.Sprint(orchestrator.SnapshotFormat)
	for name, fake := range map[string]string{
		"older format":     `{"format":0,"defHash":"` + snapWorkflow.Hash() + `"}`,
		"newer format":     `{"format":99,"defHash":"` + snapWorkflow.Hash() + `"}`,
		"other definition": `{"format":` + format + `,"defHash":"sha256:nope"}`,
		"corrupt":          `{"format":` + format + `,"defHash":"` + snapWorkflow.Hash() + `","steps":[{"idx":7}]}`,
		"truncated":        `{"format":` + format + `,"defHash":"` + snapWorkflow.Hash() + `","steps":[{"pha`,
		"not JSON":         "\x1f\x8b\x08garbage",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			store := &snapStore{Store: memjournal.New()}
			run := startSnapRun(t, ctx, store)
			store.fake = []byte(fake)
			store.loads.Store(0)
			finish(t, ctx, store, run)
			if store.loads.Load() == 0 {
				t.Error("the bad snapshot was used: the journal was never loaded in full")
			}
		})
	}
}

// A snapshot of the previous format (2: every value inline, the input
// twice) is ignored: the run is folded in full and finishes the same.
func TestPreviousFormatSnapshotFallsBackToFold(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := &snapStore{Store: memjournal.New()}
	run := startSnapRun(t, ctx, store)
	_, data, err := store.Store.LatestSnapshot(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	// The state as format 2 held it: the current fields under the old
	// number, as a build of that format wrote them.
	store.fake = []byte(strings.Replace(string(data), fmt.Sprintf(`"format":%d`, orchestrator.SnapshotFormat), `"format":2`, 1))
	if string(store.fake) == string(data) {
		t.Fatal("the snapshot does not start with its format")
	}
	store.loads.Store(0)
	finish(t, ctx, store, run)
	if store.loads.Load() == 0 {
		t.Error("the format 2 snapshot was used: the journal was never loaded in full")
	}
}

// A cold drive of a run parked after its map step decides from the
// snapshot without reading its parts (the run's input, the map's items);
// the run's completion, whose output expression reads the map's output,
// reads them, and the run ends as a full fold would.
func TestColdDriveReadsPartsOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := &snapStore{Store: memjournal.New()}
	run := startSnapRun(t, ctx, store)
	// A snapshot at the gate: the map's payload and the run's input in
	// parts.
	w := newEngine(t, store, snapHandlers, snapWorkflow)
	orchestrator.SetPartMin(w, 1)
	if err := w.WriteSnapshot(ctx, run); err != nil {
		t.Fatal(err)
	}
	_, data, err := store.Store.LatestSnapshot(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		InputPart string `json:"inputPart"`
		Steps     []struct {
			Part string `json:"part"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(data, &snap); err != nil || snap.InputPart == "" || len(snap.Steps) != 2 || snap.Steps[0].Part == "" {
		t.Fatalf("snapshot at the gate keeps its input or the map's payload inline (%v):\n%s", err, data)
	}
	cold := newEngine(t, store, snapHandlers, snapWorkflow, orchestrator.WithSnapshotEvery(20))
	store.loads.Store(0)
	store.parts.Store(0)
	if out, err := cold.Drive(ctx, run); err != nil || out.Status.Terminal() || out.Continue {
		t.Fatalf("cold drive at the gate: %+v, %v", out, err)
	}
	if n, l := store.parts.Load(), store.loads.Load(); n != 0 || l != 0 {
		t.Fatalf("a cold drive at the gate read %d snapshot parts and loaded the journal %d times, want none", n, l)
	}
	finish(t, ctx, store, run)
	if store.parts.Load() == 0 {
		t.Error("the run completed without reading its parts: its output could not have been computed from them")
	}
	if n := store.loads.Load(); n != 0 {
		t.Errorf("the journal was loaded in full %d times", n)
	}
}

// A snapshot whose parts are missing or corrupt is not used when a
// decision needs them: the run is folded in full and finishes the same.
func TestBadSnapshotPartFallsBackToFold(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"missing", "corrupt"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			store := &snapStore{Store: memjournal.New()}
			run := startSnapRun(t, ctx, store)
			store.partFault = fault
			store.loads.Store(0)
			finish(t, ctx, store, run)
			if store.loads.Load() == 0 {
				t.Error("the run finished without a full load: the bad part was used")
			}
		})
	}
}

// WithSnapshotEvery(0) writes no snapshot.
func TestSnapshotsOff(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := &snapStore{Store: memjournal.New()}
	e := newEngine(t, store, snapHandlers, snapWorkflow, orchestrator.WithSnapshotEvery(0))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "snap", Input: json.RawMessage(`{"id":"s0","items":[1,2,3,4,5,6,7,8,9,10,11,12]}`)})
	if err != nil {
		t.Fatal(err)
	}
	driveToGate(t, ctx, e, st.Run)
	if _, _, err := store.Store.LatestSnapshot(ctx, st.Run); err == nil {
		t.Fatal("a snapshot was written with snapshots off")
	}
}

// A state whose compensation waits to retry (its timer is keyed by the
// compensated step) goes through a snapshot: it used to be refused as
// corrupt, and the run folded in full.
func TestSnapshotOfCompensationRetry(t *testing.T) {
	t.Parallel()
	def := workflow.New("saga",
		workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Minute), BackoffCoefficient: 1}),
		workflow.Step("book", "fbook", workflow.CompensateWith("fcancel")),
		workflow.Step("pay", "fpay", workflow.After("book")),
	).MustBuild()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	events := []journal.Event{{Kind: journal.RunStarted, At: now, Workflow: def.Name, DefHash: def.Hash(), Key: "k", Input: json.RawMessage(`{}`)}}
	decide := func() orchestrator.Decision {
		t.Helper()
		d, err := orchestrator.Decide(def, events, now)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, d.Events...)
		return d
	}
	result := func(e journal.Event) {
		e.At = now
		events = append(events, e)
	}
	decide() // book scheduled
	result(journal.Event{Kind: journal.StepSucceeded, Step: "book", Attempt: 1, Output: json.RawMessage(`{}`)})
	decide() // pay scheduled
	result(journal.Event{Kind: journal.StepFailed, Step: "pay", Attempt: 1, Error: &journal.Error{Message: "declined", Terminal: true}})
	decide() // the run fails; book's compensation is scheduled
	result(journal.Event{Kind: journal.StepFailed, Step: "book", Attempt: 1, Compensation: true, Error: &journal.Error{Message: "busy", Kind: "io"}})
	if d := decide(); len(d.Events) != 1 || d.Events[0].Kind != journal.RetryScheduled || !d.Events[0].Compensation {
		t.Fatalf("decision after the compensation failed: %+v, want its retry", d.Events)
	}
	rs, err := orchestrator.Fold(def, events)
	if err != nil {
		t.Fatal(err)
	}
	data, err := orchestrator.EncodeState(rs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := orchestrator.DecodeState(def, data)
	if err != nil {
		t.Fatalf("decode a state waiting to retry a compensation: %v\n%s", err, data)
	}
	later := now.Add(2 * time.Minute)
	if got, want := back.Decide(later), rs.Decide(later); !cmp.Equal(got, want) {
		t.Fatalf("decision from the snapshot differs:\n%s", cmp.Diff(got, want))
	}
}
