package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Outcome is the verdict on one recorded step attempt.
type Outcome string

// Outcomes.
const (
	Pass Outcome = "pass" // the current code gives what was recorded
	Fail Outcome = "fail" // it does not (Diffs, or Reason)
	Skip Outcome = "skip" // not re-executable (Reason says why)
)

// Check is the verdict on one recorded step attempt.
type Check struct {
	Run          string  `json:"run"`
	Step         string  `json:"step"`
	Index        int     `json:"index,omitempty"`
	Attempt      int     `json:"attempt"`
	Compensation bool    `json:"compensation,omitempty"`
	Function     string  `json:"function,omitempty"`
	Outcome      Outcome `json:"outcome"`
	Reason       string  `json:"reason,omitempty"`
	Diffs        []Diff  `json:"diffs,omitempty"`
	// Err is the error behind a failure that is not a difference (a step
	// that no longer exists: ErrUnknownStep), for errors.Is.
	Err error `json:"-"`
}

// Name is the attempt as the journal names it: step, step#item or step~
// (its compensation), and the attempt number.
func (c Check) Name() string {
	s := c.Step
	switch {
	case c.Compensation:
		s += "~"
	case c.Index > 0:
		s += "#" + strconv.Itoa(c.Index)
	}
	return s + " attempt " + strconv.Itoa(c.Attempt)
}

// String renders the check as `ordo verify` prints it: the verdict, the
// attempt, its function, the reason and one line per difference.
func (c Check) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", strings.ToUpper(string(c.Outcome)), c.Name())
	if c.Function != "" {
		fmt.Fprintf(&b, " (%s)", c.Function)
	}
	if c.Reason != "" {
		fmt.Fprintf(&b, ": %s", c.Reason)
	}
	for _, d := range c.Diffs {
		fmt.Fprintf(&b, "\n    %s", d)
	}
	return b.String()
}

// Failed counts the failed checks.
func Failed(checks []Check) int {
	n := 0
	for _, c := range checks {
		if c.Outcome == Fail {
			n++
		}
	}
	return n
}

// Verifier re-executes recorded step attempts.
type Verifier struct {
	// Invoker runs a step attempt with the current implementation: the
	// in-process registry (embedded.Invoker), a Lambda, an HTTP step.
	Invoker orchestrator.Invoker
	// Config declares volatile fields and steps not to re-execute.
	Config Config
	// Sealer opens the sealed values (package sensitive) of recorded
	// inputs for the steps, as the engine does; nil: they reach the steps
	// sealed. Either way sealed values are compared as "[redacted]".
	Sealer sensitive.Sealer
}

// platformKinds are failure kinds the platform reports for an attempt
// that did not return (the step's own code cannot reproduce them).
var platformKinds = []string{"timeout", "invoke"}

// Steps re-executes every recorded attempt of rec's task steps, map items
// and compensations through v.Invoker and compares each result with the
// journal's. current is the definition about to be deployed (it names the
// function that now implements each step); nil means the run's own. It
// fails with ErrUnknownWorkflow when current is nil and the recording has
// no definition, and with ErrCorrupt when the journal does not fold.
func (v *Verifier) Steps(ctx context.Context, rec *Recording, current *workflow.Definition) ([]Check, error) {
	own, err := rec.RecordedDefinition()
	if err != nil && current == nil {
		return nil, err
	}
	if current == nil {
		current = own
	}
	if own == nil {
		own = current // a run pulled without its definition: fold with today's
	}
	events := rec.Events()
	var checks []Check
	seen := map[string]bool{} // an attempt re-issued after its lease expired is checked once
	for i, e := range events {
		if e.Kind != journal.StepScheduled || !invoked(own, e) {
			continue
		}
		c := Check{Step: e.Step, Index: e.Index, Attempt: e.Attempt, Compensation: e.Compensation}
		if seen[c.Name()] {
			continue
		}
		seen[c.Name()] = true
		checks = append(checks, v.check(ctx, rec, own, current, events, i))
	}
	return checks, nil
}

// invoked reports whether a StepScheduled event started a function: a
// task step, a map item, or a compensation.
func invoked(def *workflow.Definition, e journal.Event) bool {
	if e.Compensation || e.Index > 0 {
		return true
	}
	n := def.Step(e.Step)
	return n == nil || n.StepType() == workflow.TypeTask
}

func (v *Verifier) check(ctx context.Context, rec *Recording, own, current *workflow.Definition,
	events []journal.Event, at int) Check {
	e := events[at]
	c := Check{Run: rec.Run.ID, Step: e.Step, Index: e.Index, Attempt: e.Attempt, Compensation: e.Compensation}
	n := current.Step(e.Step)
	if n == nil {
		return fail(c, fmt.Errorf("%w: step %q of run %s is not in workflow %s (version %s)",
			ErrUnknownStep, e.Step, rec.Run.ID, current.Name, current.Version))
	}
	c.Function = n.Function
	if e.Compensation {
		c.Function = n.Compensate
	}
	result, recorded := resultOf(events[at+1:], e)
	if why := v.notReexecutable(rec, n, e, result, recorded); why != "" {
		return skip(c, why)
	}
	if c.Function == "" {
		return fail(c, fmt.Errorf("%w: step %q of workflow %s no longer names a function", ErrUnknownStep, e.Step, current.Name))
	}
	state, err := stateAt(own, events, e.Seq)
	if err != nil {
		return fail(c, err)
	}
	if bytes.Contains(state, []byte(`"`+sensitive.Redacted+`"`)) {
		return skip(c, "the run's state held sealed values, recorded as [redacted]: re-executing it would not be the same call")
	}
	req := step.Request{Workflow: rec.Run.Workflow, Run: rec.Run.ID, Step: e.Step, Function: c.Function,
		Attempt: e.Attempt, IdempotencyKey: rec.Run.ID + "/" + effectStep(e), Input: e.Input, State: state,
		Index: e.Index, Compensation: e.Compensation}
	clears, err := v.open(ctx, &req)
	if err != nil {
		// Without the key the step would get ciphertext, not the call it
		// was: not re-executable here, and said why.
		return skip(c, err.Error())
	}
	resp, err := v.Invoker.Invoke(ctx, req)
	if err == nil {
		resp, err = v.seal(ctx, own, e, resp, clears)
	}
	switch {
	case err != nil:
		return fail(c, fmt.Errorf("invoke: %w", err))
	case resp.Error != nil && resp.Error.Kind == "unregistered":
		return fail(c, fmt.Errorf("%w: %s", ErrUnknownStep, resp.Error.Message))
	}
	return compare(c, result, resp, v.Config.Volatile.For(rec.Run.Workflow, e.Step))
}

// open opens req's sealed values for the step, as the engine does.
func (v *Verifier) open(ctx context.Context, req *step.Request) ([]string, error) {
	if v.Sealer == nil {
		if sensitive.Contains(req.Input) || sensitive.Contains(req.State) {
			return nil, errors.New("its recorded input holds sealed values and no key to open them is given (the journal's sealing key file beside --db)")
		}
		return nil, nil
	}
	var c1, c2 []string
	var err error
	if req.Input, c1, err = sensitive.OpenAll(ctx, v.Sealer, req.Input, "input"); err != nil {
		return nil, fmt.Errorf("its recorded input's sealed values do not open: %w", err)
	}
	if req.State, c2, err = sensitive.OpenAll(ctx, v.Sealer, req.State, "state"); err != nil {
		return nil, fmt.Errorf("its recorded state's sealed values do not open: %w", err)
	}
	return append(c1, c2...), nil
}

// seal seals what the step returned as the engine would have before
// journaling it, so that it compares with the recording.
func (v *Verifier) seal(ctx context.Context, def *workflow.Definition, e journal.Event, resp step.Response, clears []string) (step.Response, error) {
	if v.Sealer == nil {
		return resp, nil
	}
	if resp.Error != nil {
		resp.Error.Message = sensitive.Scrub(resp.Error.Message, clears)
		return resp, nil
	}
	var err error
	r := &resp.Result
	if !e.Compensation {
		if r.Output, err = sensitive.SealPaths(ctx, v.Sealer, r.Output, sensitive.OutputPaths(def.SensitivePaths(), e.Step, e.Index), "output"); err != nil {
			return resp, err
		}
	}
	if r.Output, err = sensitive.SealEqual(ctx, v.Sealer, r.Output, clears, "output"); err != nil {
		return resp, err
	}
	if r.State, err = sensitive.SealPaths(ctx, v.Sealer, r.State, sensitive.Select(def.SensitivePaths(), sensitive.RootState, ""), "state"); err != nil {
		return resp, err
	}
	if r.State, err = sensitive.SealEqual(ctx, v.Sealer, r.State, clears, "state"); err != nil {
		return resp, err
	}
	for i := range r.Effects {
		if r.Effects[i].Payload, err = sensitive.SealEqual(ctx, v.Sealer, r.Effects[i].Payload, clears, "effect"); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

// notReexecutable says why the attempt sched of step n is not re-executed
// ("" when it is).
func (v *Verifier) notReexecutable(rec *Recording, n *workflow.Node, sched, result journal.Event, recorded bool) string {
	switch f := result.Error; {
	case v.Config.Skips(rec.Run.Workflow, sched.Step):
		return "declared not re-executable (skip: in the verify configuration)"
	case n.Async && !sched.Compensation:
		return "an async step: its result came by callback"
	case !recorded:
		return "no recorded result (the attempt was in flight)"
	case bytes.Contains(sched.Input, []byte(`"`+sensitive.Redacted+`"`)):
		return "its recorded input holds sealed values, recorded as [redacted]: re-executing it would not be the same call"
	case result.Kind == journal.StepFailed && f != nil && slices.Contains(platformKinds, f.Kind):
		return "the platform reported this failure (" + f.Kind + "): not reproducible by the step"
	}
	return ""
}

func skip(c Check, reason string) Check {
	c.Outcome, c.Reason = Skip, reason
	return c
}

func fail(c Check, err error) Check {
	c.Outcome, c.Err, c.Reason = Fail, err, err.Error()
	return c
}

// resultOf finds the journaled result of the attempt sched started.
func resultOf(rest []journal.Event, sched journal.Event) (journal.Event, bool) {
	for _, e := range rest {
		if (e.Kind == journal.StepSucceeded || e.Kind == journal.StepFailed) && e.Step == sched.Step &&
			e.Index == sched.Index && e.Attempt == sched.Attempt && e.Compensation == sched.Compensation {
			return e, true
		}
	}
	return journal.Event{}, false
}

// stateAt is the run's state document as a step scheduled in commit seq
// saw it: the fold of every commit up to and including seq.
func stateAt(def *workflow.Definition, events []journal.Event, seq int64) (json.RawMessage, error) {
	end := len(events)
	for i, e := range events {
		if e.Seq > seq {
			end = i
			break
		}
	}
	snap, err := orchestrator.FoldAt(def, events, end)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return snap.State, nil
}

// effectStep names an attempt in idempotency keys, as the engine does.
func effectStep(e journal.Event) string {
	switch {
	case e.Compensation:
		return e.Step + "~"
	case e.Index > 0:
		return e.Step + "#" + strconv.Itoa(e.Index)
	}
	return e.Step
}

// compare diffs the recorded result with the new response, volatile
// paths removed from both.
func compare(c Check, recorded journal.Event, resp step.Response, volatile []string) Check {
	want, err := recordedDoc(recorded)
	if err != nil {
		return fail(c, err)
	}
	got, err := responseDoc(resp)
	if err != nil {
		c.Outcome, c.Reason = Fail, "the step's result is not JSON: "+err.Error()
		return c
	}
	for _, p := range volatile {
		segs, _ := parsePath(p) // validated with the rules
		drop(want, segs)
		drop(got, segs)
	}
	c.Diffs = diffJSON("", redactDoc(want), redactDoc(got), nil)
	switch {
	case len(c.Diffs) == 0:
		c.Outcome = Pass
	case recorded.Kind == journal.StepSucceeded && resp.Error != nil:
		c.Outcome, c.Reason = Fail, "recorded a success; now fails: "+resp.Error.Message
	case recorded.Kind == journal.StepFailed && resp.Error == nil:
		c.Outcome, c.Reason = Fail, "recorded a failure ("+recorded.Error.Message+"); now succeeds"
	default:
		c.Outcome, c.Reason = Fail, strconv.Itoa(len(c.Diffs))+" difference(s)"
	}
	return c
}

// recordedDoc is a journaled result as the document compared.
func recordedDoc(e journal.Event) (any, error) {
	if e.Kind == journal.StepFailed {
		return errorDoc(e.Error), nil
	}
	effects := make([]step.Effect, 0, len(e.Effects))
	for _, ef := range e.Effects {
		effects = append(effects, step.Effect{Kind: ef.Kind, Target: ef.Target, Payload: ef.Payload})
	}
	doc, err := resultDoc(step.Result{Output: e.Output, State: e.State, Effects: effects})
	if err != nil {
		return nil, fmt.Errorf("%w: %s attempt %d: %w", ErrCorrupt, e.Step, e.Attempt, err)
	}
	return doc, nil
}

// redactDoc replaces the envelopes in a decoded document with
// "[redacted]": sealed values compare equal whatever their ciphertext, and
// a diff never shows them.
func redactDoc(v any) any {
	if _, ok := sensitive.IsEnvelope(v); ok {
		return sensitive.Redacted
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			x[k] = redactDoc(c)
		}
	case []any:
		for i, c := range x {
			x[i] = redactDoc(c)
		}
	}
	return v
}

func responseDoc(resp step.Response) (any, error) {
	if resp.Error != nil {
		return errorDoc(&journal.Error{Message: resp.Error.Message, Kind: resp.Error.Kind, Terminal: resp.Error.Terminal}), nil
	}
	if len(resp.Output) == 0 {
		resp.Output = json.RawMessage(`null`) // as the engine journals it
	}
	return resultDoc(resp.Result)
}

func resultDoc(r step.Result) (any, error) {
	out, err := decode(r.Output)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	doc := map[string]any{"output": out}
	if len(r.State) > 0 {
		if doc["state"], err = decode(r.State); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	if len(r.Effects) > 0 {
		list := make([]any, 0, len(r.Effects))
		for _, ef := range r.Effects {
			p, err := decode(ef.Payload)
			if err != nil {
				return nil, fmt.Errorf("effect payload: %w", err)
			}
			list = append(list, map[string]any{"kind": ef.Kind, "target": ef.Target, "payload": p})
		}
		doc["effects"] = list
	}
	return doc, nil
}

func errorDoc(e *journal.Error) any {
	if e == nil {
		return map[string]any{"error": map[string]any{}}
	}
	return map[string]any{"error": map[string]any{"message": e.Message, "kind": e.Kind, "terminal": e.Terminal}}
}
