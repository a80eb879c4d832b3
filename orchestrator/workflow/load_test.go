package workflow_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// registered is the function registry of the tests that pass Functions.
func registered(name string) bool { return name == "verify-order" || name == "charge-payment" }

// TestLoadRejects has one case per reason Load rejects a file. Every case
// checks the problem's line, step and field, and that the message names them.
func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		opts []workflow.BuildOption
		want workflow.Problem // File is always "order.yaml"
	}{
		{
			name: "duplicate step",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
  - name: verify
    function: charge-payment
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "name", Msg: "duplicate step"},
		},
		{
			name: "unknown step in after",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    after: [nosuch]
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "after", Msg: `unknown step "nosuch"`},
		},
		{
			name: "step after itself",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    after:
      - verify
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "after", Msg: "a step cannot come after itself"},
		},
		{
			name: "cycle",
			yaml: `
name: order
steps:
  - name: a
    function: f
    after: [c]
  - name: b
    function: f
    after: [a]
  - name: c
    function: f
    after: [b]
`,
			want: workflow.Problem{Line: 8, Step: "b", Field: "after", Msg: "cycle: a -> b -> c -> a"},
		},
		{
			name: "unreachable after a fail step",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
  - name: reject
    type: fail
    message: rejected
    after: [verify]
  - name: charge
    function: charge-payment
    after: [reject]
`,
			want: workflow.Problem{Line: 11, Step: "charge", Field: "after",
				Msg: `unreachable: it comes after fail step "reject", which never succeeds`},
		},
		{
			name: "CEL in when does not compile",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    when: input.total >
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "when", Msg: `CEL "input.total >"`},
		},
		{
			name: "CEL in input does not compile",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    input: '{"id": input.id'
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "input", Msg: `CEL "{\"id\": input.id"`},
		},
		{
			name: "CEL in pass output does not compile",
			yaml: `
name: order
steps:
  - name: price
    type: pass
    output: input.total *
`,
			want: workflow.Problem{Line: 5, Step: "price", Field: "output", Msg: `CEL "input.total *"`},
		},
		{
			name: "CEL in pass error does not compile",
			yaml: `
name: order
steps:
  - name: price
    type: pass
    output: input
    error: nosuch.var == ""
`,
			want: workflow.Problem{Line: 6, Step: "price", Field: "error", Msg: "undeclared reference to 'nosuch'"},
		},
		{
			name: "CEL in key does not compile",
			yaml: `
name: order
key: input.orderId +
steps:
  - name: verify
    function: verify-order
`,
			want: workflow.Problem{Line: 2, Field: "key", Msg: `CEL "input.orderId +"`},
		},
		{
			name: "when is not bool",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    when: '"yes"'
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "when", Msg: "result is string, want bool"},
		},
		{
			name: "task step without function",
			yaml: `
name: order
steps:
  - name: verify
    type: task
`,
			want: workflow.Problem{Line: 3, Step: "verify", Field: "function", Msg: "a task step needs a function"},
		},
		{
			name: "function not registered",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order:live
  - name: refund
    function: refund-payment:live
    after: [verify]
`,
			opts: []workflow.BuildOption{workflow.Functions(registered)},
			want: workflow.Problem{Line: 6, Step: "refund", Field: "function", Msg: `function "refund-payment:live" is not registered`},
		},
		{
			name: "unknown step type",
			yaml: `
name: order
steps:
  - name: verify
    type: parallel
`,
			want: workflow.Problem{Line: 4, Step: "verify", Field: "type", Msg: `unknown step type "parallel"`},
		},
		{
			name: "unknown field",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    retries: 3
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "retries", Msg: "field retries not found"},
		},
		{
			name: "YAML syntax error",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order: charge-payment
`,
			want: workflow.Problem{Line: 4, Msg: "mapping values are not allowed in this context"},
		},
		{
			name: "bad duration",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    timeout: 5 minutes
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "timeout", Msg: `duration "5 minutes"`},
		},
		{
			name: "fail without message",
			yaml: `
name: order
steps:
  - name: reject
    type: fail
`,
			want: workflow.Problem{Line: 3, Step: "reject", Field: "message", Msg: "a fail step needs a message"},
		},
		{
			name: "wait without duration",
			yaml: `
name: order
steps:
  - name: cool-off
    type: wait
`,
			want: workflow.Problem{Line: 3, Step: "cool-off", Field: "duration", Msg: "a wait step needs a positive duration"},
		},
		{
			name: "negative maxAttempts",
			yaml: `
name: order
steps:
  - name: verify
    function: verify-order
    retry:
      maxAttempts: -1
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "retry", Msg: "maxAttempts must not be negative"},
		},
		{
			name: "backoffCoefficient below 1",
			yaml: `
name: order
retry:
  backoffCoefficient: 0.5
steps:
  - name: verify
    function: verify-order
`,
			want: workflow.Problem{Line: 2, Field: "retry", Msg: "backoffCoefficient must be at least 1"},
		},
		{
			name: "empty file",
			yaml: "\n# nothing here\n",
			want: workflow.Problem{Msg: "empty definition"},
		},
		{
			name: "missing name",
			yaml: `
version: "2"
steps:
  - name: verify
    function: verify-order
`,
			want: workflow.Problem{Line: 1, Field: "name", Msg: "missing workflow name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := strings.TrimPrefix(tt.yaml, "\n")
			_, err := workflow.Load([]byte(src), "order.yaml", tt.opts...)
			if !errors.Is(err, workflow.ErrInvalid) {
				t.Fatalf("Load: got %v, want an error matching ErrInvalid", err)
			}
			var ie *workflow.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Load: got %T, want *workflow.InvalidError", err)
			}
			if len(ie.Problems) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ie.Problems), err)
			}
			got := ie.Problems[0]
			if got.File != "order.yaml" || got.Line != tt.want.Line || got.Step != tt.want.Step || got.Field != tt.want.Field {
				t.Errorf("got problem at %s:%d step %q field %q, want %s:%d step %q field %q (%v)",
					got.File, got.Line, got.Step, got.Field, "order.yaml", tt.want.Line, tt.want.Step, tt.want.Field, err)
			}
			if !strings.Contains(got.Msg, tt.want.Msg) {
				t.Errorf("got message %q, want it to contain %q", got.Msg, tt.want.Msg)
			}
			msg := err.Error()
			where := "order.yaml"
			if tt.want.Line > 0 {
				where = fmt.Sprintf("order.yaml:%d: ", tt.want.Line)
			}
			if !strings.Contains(msg, where) {
				t.Errorf("error %q does not name %q", msg, where)
			}
			if tt.want.Step != "" && !strings.Contains(msg, fmt.Sprintf("step %q", tt.want.Step)) {
				t.Errorf("error %q does not name step %q", msg, tt.want.Step)
			}
		})
	}
}
