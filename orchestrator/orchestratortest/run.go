package orchestratortest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/callback"
)

// Run is a run started through a Harness: accessors read its journal,
// Assert methods fail the test with what the journal holds instead.
type Run struct {
	h *Harness
	// ID is the run's id (workflow/key).
	ID string
}

// Settle drives the run until it completes, fails, is cancelled or goes to
// review, moving the clock to each retry, timer and timeout as it falls
// due (other runs due before it are driven too). It returns early when the
// run waits for something only the test can give (an event, a callback).
func (r *Run) Settle() *Run {
	r.h.t.Helper()
	for n := 0; n < maxDrives; n++ {
		r.h.drain()
		if r.settled() {
			return r
		}
		next, ok := r.h.nextWake()
		if !ok {
			return r // waiting for an event, a callback or another run
		}
		r.h.Clock.AdvanceTo(next)
		r.h.wakeDue()
	}
	r.h.t.Fatalf("orchestratortest: %s did not settle after %d wake-ups; journal:\n%s", r.ID, maxDrives, r.Journal())
	return r
}

func (r *Run) settled() bool {
	s := r.Status()
	return s.Terminal() || s == journal.StatusReview
}

// Status returns the run's status.
func (r *Run) Status() journal.Status {
	r.h.t.Helper()
	head, _, err := r.h.Store.Load(r.h.ctx, r.ID)
	if err != nil {
		r.h.t.Fatalf("orchestratortest: load %s: %v", r.ID, err)
	}
	return head.Status
}

// Events returns the run's journal.
func (r *Run) Events() []journal.Event {
	r.h.t.Helper()
	_, events, err := r.h.Store.Load(r.h.ctx, r.ID)
	if err != nil {
		r.h.t.Fatalf("orchestratortest: load %s: %v", r.ID, err)
	}
	return events
}

// Journal renders the run's journal one event a line, for failure
// messages.
func (r *Run) Journal() string {
	var b strings.Builder
	for _, e := range r.Events() {
		b.WriteString(describe(e))
		b.WriteByte('\n')
	}
	return b.String()
}

func describe(e journal.Event) string {
	var b strings.Builder
	b.WriteString(e.At.Format("15:04:05.000"))
	b.WriteString(" ")
	b.WriteString(string(e.Kind))
	if e.Step != "" {
		b.WriteString(" " + e.Step)
		if e.Index > 0 {
			b.WriteString("#" + itoa(e.Index))
		}
		if e.Compensation {
			b.WriteString("~")
		}
		b.WriteString(" attempt " + itoa(e.Attempt))
	}
	if e.Error != nil {
		b.WriteString(": " + e.Error.Message)
	}
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	return b.String()
}

// Output returns the run's output (RunCompleted), or nil.
func (r *Run) Output() json.RawMessage {
	for _, e := range slices.Backward(r.Events()) {
		if e.Kind == journal.RunCompleted {
			return e.Output
		}
	}
	return nil
}

// StepOutput returns the output of the step's last successful attempt, or
// nil.
func (r *Run) StepOutput(step string) json.RawMessage {
	for _, e := range slices.Backward(r.Events()) {
		if succeeded(e) && e.Step == step {
			return e.Output
		}
	}
	return nil
}

// Attempts returns how many attempts of step were scheduled.
func (r *Run) Attempts(step string) int {
	n := 0
	for _, e := range r.Events() {
		if e.Kind == journal.StepScheduled && e.Step == step && e.Index == 0 && !e.Compensation {
			n++
		}
	}
	return n
}

// Steps returns the steps that succeeded, in the order their success was
// journaled. Steps on parallel branches may interleave differently from
// run to run; AssertBefore checks an order that the DAG guarantees.
func (r *Run) Steps() []string {
	var out []string
	for _, e := range r.Events() {
		if succeeded(e) {
			out = append(out, e.Step)
		}
	}
	return out
}

// Token returns the callback token of the step's latest attempt (an async
// step waiting for its completion).
func (r *Run) Token(step string) string {
	r.h.t.Helper()
	return r.h.keys.Sign(callback.Claims{Run: r.ID, Step: step, Attempt: r.Attempts(step)})
}

// AssertStatus fails the test unless the run's status is want.
func (r *Run) AssertStatus(want journal.Status) {
	r.h.t.Helper()
	if got := r.Status(); got != want {
		r.h.t.Errorf("%s: status %s, want %s; journal:\n%s", r.ID, got, want, r.Journal())
	}
}

// AssertSteps fails the test unless exactly the steps want succeeded, in
// that order.
func (r *Run) AssertSteps(want ...string) {
	r.h.t.Helper()
	if got := r.Steps(); !slices.Equal(got, want) {
		r.h.t.Errorf("%s: steps succeeded %q, want %q; journal:\n%s", r.ID, got, want, r.Journal())
	}
}

// AssertBefore fails the test unless step first succeeded before step then
// was first scheduled.
func (r *Run) AssertBefore(first, then string) {
	r.h.t.Helper()
	done, started := -1, -1
	for i, e := range r.Events() {
		switch {
		case done < 0 && succeeded(e) && e.Step == first:
			done = i
		case started < 0 && e.Kind == journal.StepScheduled && e.Step == then:
			started = i
		}
	}
	if done < 0 || started < 0 || started < done {
		r.h.t.Errorf("%s: want %s to succeed before %s starts; journal:\n%s", r.ID, first, then, r.Journal())
	}
}

// AssertAttempts fails the test unless step was attempted n times.
func (r *Run) AssertAttempts(step string, n int) {
	r.h.t.Helper()
	if got := r.Attempts(step); got != n {
		r.h.t.Errorf("%s: step %s attempted %d times, want %d; journal:\n%s", r.ID, step, got, n, r.Journal())
	}
}

// AssertOutput fails the test unless the step's output equals want as
// JSON (want is a json.RawMessage or a value encoded as JSON). An empty
// step name means the run's output.
func (r *Run) AssertOutput(step string, want any) {
	r.h.t.Helper()
	got := r.Output()
	if step != "" {
		got = r.StepOutput(step)
	}
	if !jsonEqual(got, mustJSON(want)) {
		name := step
		if name == "" {
			name = "the run"
		}
		r.h.t.Errorf("%s: output of %s is %s, want %s", r.ID, name, got, mustJSON(want))
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// succeeded reports whether e records a step's success (a sub step's
// child run completing without error included).
func succeeded(e journal.Event) bool {
	ok := e.Kind == journal.StepSucceeded || e.Kind == journal.SubRunCompleted && e.Error == nil
	return ok && e.Index == 0 && !e.Compensation
}
