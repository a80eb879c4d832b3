package workflow_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
			name: "unknown invoke mode",
			yaml: `
name: order
steps:
  - name: verify
    function: f
    invoke: later
`,
			want: workflow.Problem{Line: 5, Step: "verify", Field: "invoke", Msg: `unknown invoke mode "later" (want sync or async)`},
		},
		{
			name: "invoke on a step without a function",
			yaml: `
name: order
steps:
  - name: cool-off
    type: wait
    duration: 1s
    invoke: async
`,
			want: workflow.Problem{Line: 6, Step: "cool-off", Field: "invoke", Msg: "only task and map steps invoke a function"},
		},
		{
			name: "invoke async on a callback step",
			yaml: `
name: order
steps:
  - name: approve
    function: f
    async: true
    invoke: async
`,
			want: workflow.Problem{Line: 6, Step: "approve", Field: "invoke", Msg: "a callback step (async: true) is started by a synchronous invoke"},
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

// TestLoadMoreProblems covers the line and step attribution of problems
// beyond the one-per-reason table: several at once, JSON, nested fields.
func TestLoadMoreProblems(t *testing.T) {
	t.Parallel()
	type where struct {
		Line        int
		Step, Field string
	}
	tests := []struct {
		name string
		file string
		src  string
		want []where
	}{
		{
			name: "every problem is listed, in order",
			file: "order.yaml",
			src: `
name: order
key: input.(
steps:
  - name: verify
    type: fail
  - function: charge-payment
  - name: ship
    function: ship-order
    after: [verify, nosuch]
    when: 1 + 1
`,
			// Names first, then each step's checks in declaration order; a
			// missing field points at the step's first line.
			want: []where{{2, "", "key"}, {6, "#2", "name"}, {4, "verify", "message"}, {9, "ship", "after"}, {10, "ship", "when"}},
		},
		{
			name: "JSON lines",
			file: "order.json",
			src: `{
  "name": "order",
  "steps": [
    {"name": "verify", "function": "verify-order"},
    {
      "name": "charge",
      "after": ["verify"],
      "when": "input.total >"
    }
  ]
}`,
			want: []where{{8, "charge", "when"}, {5, "charge", "function"}},
		},
		{
			name: "a bad duration inside retry names the step and retry",
			file: "order.yaml",
			src: `
name: order
steps:
  - name: verify
    function: verify-order
    retry:
      maxAttempts: 2
      initialInterval: soon
`,
			want: []where{{7, "verify", "retry"}},
		},
		{
			name: "a type error names the step and field",
			file: "order.yaml",
			src: `
name: order
steps:
  - name: verify
    function: verify-order
    after: verify
`,
			want: []where{{5, "verify", "after"}},
		},
		{
			name: "on a line shared by several keys no step is guessed",
			file: "order.json",
			src:  `{"name": "order", "steps": [{"name": "a", "function": "f"}, {"name": "b", "timeout": "soon"}]}`,
			want: []where{{1, "", ""}},
		},
		{
			name: "a trigger problem points at triggers",
			file: "order.yaml",
			src: `
name: order
steps:
  - name: verify
    function: verify-order
triggers:
  - source: sqs:orders
  - when: message.type == "x"
`,
			want: []where{{5, "", "triggers"}},
		},
		{
			name: "a document that is not a mapping",
			file: "order.yaml",
			src:  "- name: order\n",
			want: []where{{1, "", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := workflow.Load([]byte(strings.TrimPrefix(tt.src, "\n")), tt.file)
			var ie *workflow.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Load: got %v, want *InvalidError", err)
			}
			var got []where
			for _, p := range ie.Problems {
				if p.File != tt.file {
					t.Errorf("problem %v: file %q, want %q", p, p.File, tt.file)
				}
				got = append(got, where{p.Line, p.Step, p.Field})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	_, err := workflow.LoadFile(filepath.Join("testdata", "nosuch.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile of a missing file: got %v, want fs.ErrNotExist", err)
	}
	if errors.Is(err, workflow.ErrInvalid) {
		t.Errorf("LoadFile of a missing file matches ErrInvalid: %v", err)
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("name: bad\nsteps:\n  - name: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = workflow.LoadFile(path)
	if want := path + ":3: step \"a\": function: a task step needs a function"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadFile: got %v, want it to contain %q", err, want)
	}
	// Without a file name, problems still carry their line.
	_, err = workflow.Load([]byte("name: bad\nsteps:\n  - name: a\n"), "")
	if want := "definition:3: "; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load without a file name: got %v, want it to contain %q", err, want)
	}
}

func TestFunctionsIgnoresQualifier(t *testing.T) {
	t.Parallel()
	src := []byte(`
name: order
steps:
  - name: verify
    function: verify-order:live
  - name: charge
    function: charge-payment:7
    after: [verify]
`)
	if _, err := workflow.Load(src, "order.yaml", workflow.Functions(registered)); err != nil {
		t.Errorf("registered functions with qualifiers: %v", err)
	}
	var asked []string
	_, err := workflow.Load(src, "order.yaml", workflow.Functions(func(name string) bool {
		asked = append(asked, name)
		return false
	}))
	if diff := cmp.Diff([]string{"verify-order", "charge-payment"}, asked); diff != "" {
		t.Errorf("names asked of the registry (-want +got):\n%s", diff)
	}
	var ie *workflow.InvalidError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 {
		t.Errorf("got %v, want two unregistered functions", err)
	}
}
