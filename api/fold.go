package api

import (
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// folder builds a RunView event by event. It is the one place that reads
// the engine's fold (orchestrator.RunState): the rest of the views only see
// RunView.
type folder struct {
	rs       *orchestrator.RunState
	v        *RunView
	steps    map[string]*StepView
	attempts map[string]*AttemptView // step/attempt → attempt (index 0 only)
	comps    map[string]*AttemptView // step → its compensation's last attempt
	compDone map[string]bool
	effects  map[string]*EffectView
}

func newFolder(def *workflow.Definition, v *RunView) *folder {
	f := &folder{rs: orchestrator.NewRunState(def), v: v, steps: map[string]*StepView{},
		attempts: map[string]*AttemptView{}, comps: map[string]*AttemptView{}, compDone: map[string]bool{},
		effects: map[string]*EffectView{}}
	v.Steps = make([]*StepView, len(def.Steps))
	for i := range def.Steps {
		s := &StepView{Name: def.Steps[i].Name, Attempts: []*AttemptView{}}
		v.Steps[i] = s
		f.steps[s.Name] = s
	}
	v.Effects = []*EffectView{}
	return f
}

func attemptKey(step string, attempt int) string { return fmt.Sprintf("%s/%d", step, attempt) }

// apply folds one event into the engine's state and the view's attempts.
func (f *folder) apply(e *journal.Event) error {
	var before json.RawMessage
	if e.Kind == journal.StepScheduled && e.Index == 0 && !e.Compensation {
		before = f.rs.StateJSON()
	}
	if err := f.rs.Apply(e); err != nil {
		return err
	}
	f.v.At = e.Seq
	if e.Compensation {
		f.compensation(e)
		return nil
	}
	switch e.Kind {
	case journal.StepScheduled:
		if e.Index == 0 {
			f.scheduled(e, before)
		}
	case journal.StepSucceeded:
		f.succeeded(e)
	case journal.StepFailed:
		if a := f.attempts[attemptKey(e.Step, e.Attempt)]; a != nil && e.Index == 0 {
			a.Result, a.Error = "failed", e.Error
			f.end(a, e)
		}
	case journal.RetryScheduled:
		if a := f.attempts[attemptKey(e.Step, e.Attempt-1)]; a != nil && e.Index == 0 {
			a.RetryDue = e.Due
		}
	case journal.SubRunStarted:
		if s := f.steps[e.Step]; s != nil && e.Child != "" {
			s.Children = append(s.Children, e.Child)
		}
	case journal.SubRunCompleted:
		if a := f.attempts[attemptKey(e.Step, e.Attempt)]; a != nil && e.Index == 0 {
			a.Result, a.Output, a.Error = "succeeded", e.Output, e.Error
			if e.Error != nil {
				a.Result = "failed"
			}
			f.end(a, e)
		}
	case journal.EffectDispatched, journal.EffectSucceeded, journal.EffectFailed:
		f.outcome(e)
	}
	return nil
}

func (f *folder) scheduled(e *journal.Event, before json.RawMessage) {
	s := f.steps[e.Step]
	if s == nil {
		return
	}
	a := &AttemptView{Attempt: e.Attempt, Scheduled: e.At, Result: "running", Seq: e.Seq, Input: e.Input, StateBefore: before}
	f.attempts[attemptKey(e.Step, e.Attempt)] = a
	s.Attempts = append(s.Attempts, a)
}

func (f *folder) succeeded(e *journal.Event) {
	effects := f.addEffects(e)
	if e.Index > 0 {
		return
	}
	a := f.attempts[attemptKey(e.Step, e.Attempt)]
	if a == nil {
		return
	}
	a.Result, a.Output, a.StatePatch, a.Effects = "succeeded", e.Output, e.State, effects
	a.StateAfter = f.rs.StateJSON()
	f.end(a, e)
}

func (f *folder) end(a *AttemptView, e *journal.Event) {
	a.Finished, a.EndSeq = e.At, e.Seq
	a.DurationMS = e.At.Sub(a.Scheduled).Milliseconds()
}

// addEffects records the effects a result asked for.
func (f *folder) addEffects(e *journal.Event) []*EffectView {
	var out []*EffectView
	for _, ef := range e.Effects {
		x := &EffectView{Effect: ef, Step: e.Step, Status: "journaled", At: e.At}
		f.effects[ef.ID] = x
		f.v.Effects = append(f.v.Effects, x)
		out = append(out, x)
	}
	return out
}

func (f *folder) outcome(e *journal.Event) {
	x := f.effects[e.EffectID]
	if x == nil {
		return
	}
	x.At = e.At
	switch e.Kind {
	case journal.EffectDispatched:
		if x.Status == "journaled" {
			x.Status = "dispatched"
		}
	case journal.EffectSucceeded:
		x.Status, x.Error = "succeeded", nil
		x.Outcomes++
	case journal.EffectFailed:
		x.Status, x.Error = "failed", e.Error
		x.Outcomes++
	}
}

func (f *folder) compensation(e *journal.Event) {
	switch e.Kind {
	case journal.StepScheduled:
		f.comps[e.Step] = &AttemptView{Attempt: e.Attempt, Scheduled: e.At, Result: "running", Seq: e.Seq, Input: e.Input}
	case journal.StepSucceeded, journal.StepFailed:
		a := f.comps[e.Step]
		if a == nil || a.Attempt != e.Attempt {
			return
		}
		a.Result, a.Output, a.Error = "succeeded", e.Output, e.Error
		if e.Kind == journal.StepFailed {
			a.Result = "failed"
		} else {
			f.compDone[e.Step] = true
			a.Effects = f.addEffects(e)
		}
		f.end(a, e)
	}
}

// finish copies the folded run and steps into the view.
func (f *folder) finish(itemOffset int) {
	rs, v := f.rs.Snapshot(), f.v
	v.Status, v.Reason, v.Key, v.Trigger = rs.Status, rs.Reason, rs.Key, rs.Trigger
	v.Input, v.Output, v.State = rs.Input, rs.Output, rs.State
	v.Parent, v.ParentStep = rs.Parent, rs.ParentStep
	for _, s := range v.Steps {
		st, _ := rs.Step(s.Name)
		s.Status = displayStatus(st.Phase, rs.Status)
		s.Attempt, s.Due, s.Input, s.Output, s.Error = st.Attempt, st.Due, st.Input, st.Output, st.Error
		if c := f.comps[s.Name]; c != nil {
			s.Compensation = c
			s.Status = "compensating"
			if f.compDone[s.Name] {
				s.Status = "compensated"
			}
		}
		if len(st.Items) > 0 {
			s.Items = itemsView(st.Items, itemOffset)
		}
	}
}

func itemsView(items []orchestrator.ItemSnapshot, offset int) *ItemsView {
	iv := &ItemsView{Total: len(items), Counts: map[string]int{}, Offset: max(0, min(offset, len(items)))}
	for _, it := range items {
		iv.Counts[string(it.Phase)]++
	}
	end := min(len(items), iv.Offset+itemsPage)
	iv.List = make([]ItemView, 0, end-iv.Offset)
	for i := iv.Offset; i < end; i++ {
		it := items[i]
		iv.List = append(iv.List, ItemView{Index: i + 1, Phase: string(it.Phase), Attempt: it.Attempt,
			Input: it.Input, Output: it.Output, Error: it.Error})
	}
	return iv
}
