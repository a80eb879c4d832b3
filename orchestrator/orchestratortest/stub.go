package orchestratortest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
)

// Output is a stub that succeeds with v (encoded as JSON) as its output.
func Output(v any) step.Handler {
	return Result(step.Result{Output: mustJSON(v)})
}

// Result is a stub that succeeds with r: an output, a state patch and
// effects.
func Result(r step.Result) step.Handler {
	return step.HandlerFunc(func(context.Context, step.Request) (step.Result, error) { return r, nil })
}

// Fail is a stub that fails with err: retryably, unless err is
// step.Terminal(...) or its kind is non-retryable in the step's policy.
func Fail(err error) step.Handler {
	return step.HandlerFunc(func(context.Context, step.Request) (step.Result, error) { return step.Result{}, err })
}

// Sequence is a stub whose attempt n is handled by hs[n-1]; attempts past
// the end use the last one. Sequence(Fail(err), Output(v)) fails once and
// then succeeds.
func Sequence(hs ...step.Handler) step.Handler {
	if len(hs) == 0 {
		panic("orchestratortest: Sequence needs at least one handler")
	}
	return step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		i := min(max(req.Attempt, 1), len(hs)) - 1
		return hs[i].Handle(ctx, req)
	})
}

func mustJSON(v any) json.RawMessage {
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("orchestratortest: stub output does not encode: %v", err))
	}
	return b
}
