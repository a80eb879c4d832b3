package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// WithSealer sets how the engine seals the values definitions declare
// sensitive (workflow.Definition.Sensitive) before journaling them, and
// opens them for the steps that receive them. Default: a random key of
// this engine's own, so values it seals open only in this process;
// deployments share a key (package localkey, a KMS data key in AWS).
func WithSealer(s sensitive.Sealer) Option { return func(e *Engine) { e.sealer = s } }

func defaultSealer() sensitive.Sealer { return localkey.Random() }

// sealInput seals the declared input paths of a run's input.
func (e *Engine) sealInput(ctx context.Context, def *workflow.Definition, input json.RawMessage) (json.RawMessage, error) {
	paths := sensitive.Select(def.SensitivePaths(), sensitive.RootInput, "")
	return sensitive.SealPaths(ctx, e.sealer, input, paths, "input")
}

// outputPaths are the declared paths into step n's output; for a map
// item (index > 0) those under the item's place in the list.
func outputPaths(def *workflow.Definition, stepName string, index int) [][]string {
	return sensitive.OutputPaths(def.SensitivePaths(), stepName, index)
}

// sealResult seals a step's output and state patch (a result of an
// invocation or a callback): the declared paths, and any value equal to
// one the step received sealed (clears).
func (e *Engine) sealResult(ctx context.Context, def *workflow.Definition, inv Invocation, res step.Result, clears []string) (step.Result, error) {
	var err error
	where := "step " + inv.Step + " output"
	if !inv.Compensation {
		if res.Output, err = sensitive.SealPaths(ctx, e.sealer, res.Output, outputPaths(def, inv.Step, inv.Index), where); err != nil {
			return res, err
		}
	}
	if res.Output, err = sensitive.SealEqual(ctx, e.sealer, res.Output, clears, where); err != nil {
		return res, err
	}
	where = "step " + inv.Step + " state patch"
	statePaths := sensitive.Select(def.SensitivePaths(), sensitive.RootState, "")
	if res.State, err = sensitive.SealPaths(ctx, e.sealer, res.State, statePaths, where); err != nil {
		return res, err
	}
	if res.State, err = sensitive.SealEqual(ctx, e.sealer, res.State, clears, where); err != nil {
		return res, err
	}
	if len(clears) > 0 && len(res.Effects) > 0 {
		effects := make([]step.Effect, len(res.Effects))
		for i, ef := range res.Effects {
			if ef.Payload, err = sensitive.SealEqual(ctx, e.sealer, ef.Payload, clears, fmt.Sprintf("step %s effect %d", inv.Step, i+1)); err != nil {
				return res, err
			}
			ef.Target = sensitive.Scrub(ef.Target, clears)
			effects[i] = ef
		}
		res.Effects = effects
	}
	return res, nil
}

// openRequest opens the sealed values of a step's input and state right
// before it is invoked; clears are the values revealed.
func (e *Engine) openRequest(ctx context.Context, req *step.Request) (clears []string, err error) {
	var c1, c2 []string
	if req.Input, c1, err = sensitive.OpenAll(ctx, e.sealer, req.Input, "input"); err != nil {
		return nil, err
	}
	if req.State, c2, err = sensitive.OpenAll(ctx, e.sealer, req.State, "state"); err != nil {
		return nil, err
	}
	return append(c1, c2...), nil
}

// keyFailure is the attempt's failure when a sensitive value could not be
// sealed or opened: terminal, so the run goes to review naming the
// problem instead of journaling a clear value or handing a step garbage.
func keyFailure(stepName string, err error) step.Response {
	return step.Response{Error: &step.Failure{Kind: step.KindKey, Terminal: true,
		Message: fmt.Sprintf("step %s: sensitive values: %v", stepName, err)}}
}

// sealSignal seals an external event's payload with the declared output
// paths of the event steps that wait for it.
func (e *Engine) sealSignal(ctx context.Context, def *workflow.Definition, name string, payload json.RawMessage) (json.RawMessage, error) {
	var err error
	for _, n := range def.Steps {
		if n.StepType() == workflow.TypeEvent && n.Event == name {
			if payload, err = sensitive.SealPaths(ctx, e.sealer, payload, outputPaths(def, n.Name, 0), "event "+name+" payload"); err != nil {
				return nil, err
			}
		}
	}
	return payload, nil
}

// sealEdits seals an operator's edits: where the step's input or the
// run's state held a sealed value, the edit keeps it sealed (a value still
// reading "[redacted]", as the operator was shown it, keeps the original),
// and the state patch's declared paths are sealed.
func (e *Engine) sealEdits(ctx context.Context, rs *RunState, r Resubmission) (input, state json.RawMessage, err error) {
	if len(r.Input) > 0 {
		var original json.RawMessage
		if s, ok := rs.byName[r.Step]; ok {
			original = s.input
		}
		if input, err = sensitive.Keep(ctx, e.sealer, r.Input, original, nil, "input of step "+r.Step); err != nil {
			return nil, nil, err
		}
	}
	if len(r.State) > 0 {
		paths := sensitive.Select(rs.def.SensitivePaths(), sensitive.RootState, "")
		if state, err = sensitive.Keep(ctx, e.sealer, r.State, rs.StateJSON(), paths, "state"); err != nil {
			return nil, nil, err
		}
	}
	return input, state, nil
}
