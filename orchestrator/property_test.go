package orchestrator_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// stepSpec is how one random step behaves.
type stepSpec struct {
	name     string
	after    []string
	when     bool // its condition (a constant)
	fails    int  // retryable failures before it succeeds
	terminal bool // its first attempt fails terminally
}

const propMaxAttempts = 3

// finallyFails reports whether the step can never succeed.
func (s stepSpec) finallyFails() bool { return s.terminal || s.fails >= propMaxAttempts }

// randomDAG draws a definition: N steps, edges only to earlier steps,
// constant conditions and an outcome per step.
func randomDAG(t *rapid.T) (*workflow.Definition, []stepSpec) {
	n := rapid.IntRange(1, 8).Draw(t, "steps")
	jitter := rapid.Bool().Draw(t, "jitter")
	policy := workflow.RetryPolicy{MaxAttempts: propMaxAttempts, InitialInterval: workflow.Duration(time.Second),
		BackoffCoefficient: 2, MaxInterval: workflow.Duration(5 * time.Second), Jitter: jitter}
	opts := []workflow.Option{workflow.DefaultRetryPolicy(policy)}
	specs := make([]stepSpec, n)
	for i := range specs {
		s := stepSpec{name: fmt.Sprintf("s%d", i)}
		for j := range i {
			if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("edge %d->%d", j, i)) == 0 {
				s.after = append(s.after, specs[j].name)
			}
		}
		s.when = rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("when %d", i)) > 0
		switch rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("outcome %d", i)) {
		case 0, 1, 2:
		case 3, 4:
			s.fails = rapid.IntRange(1, propMaxAttempts).Draw(t, fmt.Sprintf("fails %d", i))
		case 5:
			s.terminal = true
		}
		var sopts []workflow.StepOption
		if len(s.after) > 0 {
			sopts = append(sopts, workflow.After(s.after...))
			// Its input reads an earlier step's output (null when skipped):
			// decisions compared below then check that outputs read from
			// a snapshot (and its parts) are those of a full fold.
			if rapid.Bool().Draw(t, fmt.Sprintf("input %d", i)) {
				sopts = append(sopts, workflow.Input(fmt.Sprintf("{'from': steps.%s.output, 'skipped': steps.%s.skipped}", s.after[0], s.after[0])))
			}
		}
		if s.when {
			if rapid.Bool().Draw(t, fmt.Sprintf("explicit when %d", i)) {
				sopts = append(sopts, workflow.When("true"))
			}
		} else {
			sopts = append(sopts, workflow.When("false"))
		}
		opts = append(opts, workflow.Step(s.name, "f"+s.name, sopts...))
		specs[i] = s
	}
	def, err := workflow.New("prop", opts...).Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return def, specs
}

// result is what step s returns for attempt.
func (s stepSpec) result(attempt int, now time.Time) journal.Event {
	switch {
	case s.terminal:
		return journal.Event{Kind: journal.StepFailed, At: now, Step: s.name, Attempt: attempt,
			Error: &journal.Error{Message: "declined", Terminal: true}}
	case attempt <= s.fails:
		return journal.Event{Kind: journal.StepFailed, At: now, Step: s.name, Attempt: attempt,
			Error: &journal.Error{Message: fmt.Sprintf("flaky %d", attempt), Kind: "io"}}
	}
	return journal.Event{Kind: journal.StepSucceeded, At: now, Step: s.name, Attempt: attempt,
		Output: json.RawMessage(fmt.Sprint(attempt)), State: json.RawMessage(fmt.Sprintf(`{%q:%d}`, s.name, attempt))}
}

// simulation is one run of a random DAG driven by a pure loop.
type simulation struct {
	def    *workflow.Definition
	specs  map[string]stepSpec
	events []journal.Event
	seq    int64
	rs     *orchestrator.RunState // kept up to date event by event
	now    time.Time
	// parts are the snapshot parts of lazy round trips: rs may leave
	// values in them, resolved when a decision or event needs them.
	parts map[string][]byte
}

func (sim *simulation) commit(t *rapid.T, events []journal.Event, applied bool) {
	if len(events) == 0 {
		return
	}
	sim.seq++
	for _, e := range events {
		e.Seq = sim.seq
		sim.events = append(sim.events, e)
		if !applied {
			if err := orchestrator.ApplyResolving(sim.rs, &e, sim.parts); err != nil {
				t.Fatalf("Apply %s %s: %v", e.Kind, e.Step, err)
			}
		}
	}
}

func TestDecideProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		def, specList := randomDAG(t)
		sim := &simulation{def: def, specs: map[string]stepSpec{}, now: t0, parts: map[string][]byte{}}
		for _, s := range specList {
			sim.specs[s.name] = s
		}
		first := journal.Event{Kind: journal.RunStarted, At: t0, Workflow: def.Name, DefHash: def.Hash(), Key: "p",
			Input: json.RawMessage(`{}`)}
		rs, err := orchestrator.Fold(def, nil)
		if err != nil {
			t.Fatal(err)
		}
		sim.rs = rs
		sim.commit(t, []journal.Event{first}, false)

		var pending []orchestrator.Invocation // started, no result delivered yet
		var answered []journal.Event          // results delivered, for late duplicates
		var final orchestrator.Decision
		const bound = 400
		for i := 0; ; i++ {
			if i == bound {
				t.Fatalf("run did not finish within %d decisions", bound)
			}
			switch rapid.IntRange(0, 3).Draw(t, "snapshot") {
			case 0:
				sim.rs = snapshotRoundTrip(t, def, sim.rs)
			case 1:
				sim.rs = lazyRoundTrip(t, def, sim.rs, sim.parts)
			}
			d, err := orchestrator.Decide(def, sim.events, sim.now)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			// The incrementally kept state decides the same.
			incr, _, err := orchestrator.DecideResolving(sim.rs, sim.now, sim.parts)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if diff := cmp.Diff(incr, d); diff != "" {
				t.Fatalf("incremental decision differs (-incremental +scratch):\n%s", diff)
			}
			// Attempts started earlier and not answered are exactly the
			// in-flight ones (a finished run has none).
			if d.Done {
				pending = nil
			}
			if diff := cmp.Diff(d.InFlight, pending, cmpopts.EquateEmpty(),
				cmpopts.SortSlices(func(a, b orchestrator.Invocation) bool { return a.Step < b.Step })); diff != "" {
				t.Fatalf("InFlight (-got +want):\n%s", diff)
			}
			sim.commit(t, d.Events, true)
			if d.Done {
				final = d
				break
			}
			pending = append(pending, d.Start...)
			if len(pending) == 0 {
				if d.WakeAt.IsZero() {
					t.Fatalf("run stuck: nothing running, nothing due: %+v", d)
				}
				if !d.WakeAt.After(sim.now) {
					t.Fatalf("WakeAt %s is not after now %s, yet nothing was due", d.WakeAt, sim.now)
				}
				sim.now = d.WakeAt
				continue
			}
			// Deliver a random non-empty subset of the results, in a
			// random order, perhaps with a late duplicate of an old one.
			pending = rapid.Permutation(pending).Draw(t, "order")
			k := rapid.IntRange(1, len(pending)).Draw(t, "deliver")
			var results []journal.Event
			for _, inv := range pending[:k] {
				results = append(results, sim.specs[inv.Step].result(inv.Attempt, sim.now))
			}
			pending = slices.Clone(pending[k:])
			if len(answered) > 0 && rapid.IntRange(0, 3).Draw(t, "duplicate") == 0 {
				dup := rapid.SampledFrom(answered).Draw(t, "dup")
				dup.Kind, dup.Error = journal.StepSucceeded, nil
				dup.Output, dup.State = json.RawMessage(`"dup"`), json.RawMessage(fmt.Sprintf(`{%q:"dup"}`, dup.Step))
				results = append(results, dup)
			}
			answered = append(answered, results...)
			sim.commit(t, results, false)
			if rapid.Bool().Draw(t, "advance clock") {
				sim.now = sim.now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "ms")) * time.Millisecond)
			}
		}

		checkJournal(t, sim)

		// Completed ⇔ no step that ran can never succeed.
		doomed := slices.ContainsFunc(specList, func(s stepSpec) bool { return s.when && s.finallyFails() })
		want := journal.StatusCompleted
		if doomed {
			want = journal.StatusReview
		}
		if final.Status != want {
			t.Fatalf("final status %q, want %q", final.Status, want)
		}
		last := sim.events[len(sim.events)-1]
		if doomed {
			if last.Kind != journal.NeedsReview || !sim.specs[last.Step].finallyFails() || !sim.specs[last.Step].when {
				t.Fatalf("review event %+v does not name a failing step", last)
			}
		} else {
			// Every step with a true condition succeeded (skipped branches
			// never block); the output is the state they wrote.
			wantOut := map[string]any{}
			for _, s := range specList {
				if s.when {
					wantOut[s.name] = float64(s.fails + 1)
				}
			}
			var got map[string]any
			if last.Kind != journal.RunCompleted || json.Unmarshal(last.Output, &got) != nil {
				t.Fatalf("last event %+v, want RunCompleted with an object", last)
			}
			if diff := cmp.Diff(got, wantOut, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("run output (-got +want):\n%s", diff)
			}
		}

		// The journal folds to the same state incrementally and from
		// scratch.
		scratch, err := orchestrator.Fold(def, sim.events)
		if err != nil {
			t.Fatalf("Fold: %v", err)
		}
		if err := orchestrator.Resolve(sim.rs, sim.parts); err != nil {
			t.Fatalf("resolve: %v", err)
		}
		// (Seq is the engine's to set after each append.)
		if diff := cmp.Diff(sim.rs.Snapshot(), scratch.Snapshot(), cmpopts.IgnoreFields(orchestrator.Snapshot{}, "Seq")); diff != "" {
			t.Fatalf("incremental state differs from a fresh fold (-incremental +scratch):\n%s", diff)
		}
		if a, b := string(sim.rs.StateJSON()), string(scratch.StateJSON()); a != b {
			t.Fatalf("state: incremental %s, scratch %s", a, b)
		}
		// And deciding again at the end changes nothing.
		again, err := orchestrator.Decide(def, sim.events, sim.now.Add(time.Hour))
		if err != nil || len(again.Events) != 0 || !again.Done {
			t.Fatalf("decision after the end: %+v, %v", again, err)
		}
	})
}

// checkJournal checks the scheduling invariants on the whole journal.
func checkJournal(t *rapid.T, sim *simulation) {
	done := map[string]bool{}     // succeeded or skipped
	attempt := map[string]int{}   // last scheduled attempt
	due := map[string]time.Time{} // step/attempt -> when its retry was due
	var log strings.Builder
	for _, e := range sim.events {
		fmt.Fprintf(&log, "%d %s %s#%d\n", e.Seq, e.Kind, e.Step, e.Attempt)
	}
	fail := func(format string, args ...any) {
		t.Fatalf("%s\njournal:\n%s", fmt.Sprintf(format, args...), log.String())
	}
	for _, e := range sim.events {
		s := sim.specs[e.Step]
		switch e.Kind {
		case journal.StepScheduled, journal.StepSkipped:
			for _, a := range s.after {
				if !done[a] {
					fail("%s %s before its dependency %s succeeded or was skipped", e.Kind, e.Step, a)
				}
			}
			if e.Kind == journal.StepSkipped {
				if s.when {
					fail("step %s skipped with a true condition", e.Step)
				}
				if done[e.Step] || attempt[e.Step] != 0 {
					fail("step %s skipped after it started", e.Step)
				}
				done[e.Step] = true
				continue
			}
			if !s.when {
				fail("step %s scheduled with a false condition", e.Step)
			}
			if e.Attempt != attempt[e.Step]+1 {
				fail("step %s scheduled attempt %d after attempt %d (each attempt once, in order)", e.Step, e.Attempt, attempt[e.Step])
			}
			attempt[e.Step] = e.Attempt
			if d, ok := due[fmt.Sprint(e.Step, e.Attempt)]; e.Attempt > 1 && (!ok || e.At.Before(d)) {
				fail("step %s attempt %d scheduled at %s, before its retry was due (%s)", e.Step, e.Attempt, e.At, d)
			}
			if e.Attempt > propMaxAttempts {
				fail("step %s scheduled attempt %d beyond the policy's %d", e.Step, e.Attempt, propMaxAttempts)
			}
		case journal.RetryScheduled:
			due[fmt.Sprint(e.Step, e.Attempt)] = e.Due
			if e.Due.Before(e.At) || e.Due.After(e.At.Add(5*time.Second)) {
				fail("retry of %s due %s, outside [%s, +5s]", e.Step, e.Due, e.At)
			}
		case journal.StepSucceeded:
			if e.Attempt == attempt[e.Step] && string(e.Output) != `"dup"` {
				done[e.Step] = true
			}
		}
	}
}
