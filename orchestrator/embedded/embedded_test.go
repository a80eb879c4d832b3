package embedded_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

type in struct {
	N    int  `json:"n"`
	Fail bool `json:"fail"`
}

func newRuntime(t *testing.T, store journal.Store) (*embedded.Runtime, *workflow.Definition) {
	t.Helper()
	reg := step.NewRegistry()
	reg.Register("double", step.Func(func(ctx context.Context, x in) (in, error) {
		req, _ := step.RequestFrom(ctx)
		if x.Fail && req.Attempt < 2 {
			return in{}, errors.New("flaky")
		}
		step.Emit(ctx, step.Effect{Kind: "log", Target: "t"})
		_ = step.SetState(ctx, map[string]any{"doubled": true})
		return in{N: x.N * 2}, nil
	}))
	reg.Register("boom", step.Func(func(ctx context.Context, x in) (in, error) {
		return in{}, step.Terminal(errors.New("declined"))
	}))
	def, err := workflow.New("t",
		workflow.Key("string(input.n)"),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Millisecond)}),
		workflow.Step("a", "double"),
		workflow.Step("b", "double", workflow.After("a"), workflow.Input("steps.a.output")),
		workflow.Step("c", "double", workflow.After("a"), workflow.Input("steps.a.output")),
		workflow.Step("skip", "boom", workflow.After("a"), workflow.When("input.n > 100")),
		workflow.Pass("d", `{"sum": steps.b.output.n + steps.c.output.n}`, workflow.After("b", "c", "skip")),
		workflow.Step("e", "boom", workflow.After("d"), workflow.When("input.n == 7")),
	).Build(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatal(err)
	}
	rt := embedded.New(store, reg)
	t.Cleanup(func() { rt.Close() })
	if err := rt.Engine.Register(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	return rt, def
}

func TestRunCompletes(t *testing.T) {
	store := memjournal.New()
	rt, _ := newRuntime(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		input string
		want  journal.Status
	}{{`{"n": 3}`, journal.StatusCompleted}, {`{"n": 4, "fail": true}`, journal.StatusCompleted}, {`{"n": 7}`, journal.StatusReview}} {
		st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "t", Input: []byte(tc.input)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := rt.Wait(ctx, st.Run)
		if err != nil {
			t.Fatal(err)
		}
		_, events, _ := store.Load(ctx, st.Run)
		for _, e := range events {
			t.Logf("%d %s %s #%d %s %s %v", e.Seq, e.Kind, e.Step, e.Attempt, e.Output, e.Reason, e.Error)
		}
		if got != tc.want {
			t.Fatalf("%s: status %s, want %s", tc.input, got, tc.want)
		}
		again, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "t", Input: []byte(tc.input)})
		if err != nil || again.Created || again.Run != st.Run {
			t.Fatalf("duplicate start: %+v %v", again, err)
		}
	}
}
