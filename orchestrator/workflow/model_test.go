package workflow_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	sec := func(n float64) workflow.Duration { return workflow.Duration(n * float64(time.Second)) }
	tests := []struct {
		name     string
		wf, step *workflow.RetryPolicy
		want     workflow.RetryPolicy
	}{
		{
			name: "neither sets one: DefaultRetry",
			want: workflow.DefaultRetry,
		},
		{
			name: "the workflow's",
			wf:   &workflow.RetryPolicy{MaxAttempts: 5, InitialInterval: sec(1), BackoffCoefficient: 3},
			want: workflow.RetryPolicy{MaxAttempts: 5, InitialInterval: sec(1), BackoffCoefficient: 3, MaxInterval: sec(30)},
		},
		{
			name: "the step's wins over the workflow's",
			wf:   &workflow.RetryPolicy{MaxAttempts: 5},
			step: &workflow.RetryPolicy{MaxAttempts: 1, NonRetryable: []string{"declined"}},
			want: workflow.RetryPolicy{MaxAttempts: 1, BackoffCoefficient: 1, InitialInterval: sec(0.1), MaxInterval: sec(30), NonRetryable: []string{"declined"}},
		},
		{
			name: "zero fields take the defaults; zero coefficient is 1",
			step: &workflow.RetryPolicy{InitialInterval: sec(2), MaxInterval: sec(10), Jitter: true},
			want: workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: sec(2), BackoffCoefficient: 1, MaxInterval: sec(10), Jitter: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []workflow.Option{workflow.Step("a", "f")}
			if tt.wf != nil {
				opts = append(opts, workflow.DefaultRetryPolicy(*tt.wf))
			}
			if tt.step != nil {
				opts = append(opts, workflow.Step("b", "f", workflow.Retry(*tt.step)))
			} else {
				opts = append(opts, workflow.Step("b", "f"))
			}
			d := workflow.New("retry", opts...).MustBuild()
			if diff := cmp.Diff(tt.want, d.RetryPolicy(d.Step("b"))); diff != "" {
				t.Errorf("RetryPolicy (-want +got):\n%s", diff)
			}
		})
	}
	if workflow.DefaultRetry.MaxAttempts != 3 {
		t.Errorf("DefaultRetry.MaxAttempts = %d, want 3 as documented", workflow.DefaultRetry.MaxAttempts)
	}
}

func TestStepAndDeps(t *testing.T) {
	t.Parallel()
	opts := []workflow.Option{
		workflow.Step("verify", "verify-order"),
		workflow.Step("fraud", "fraud-check"),
		workflow.Step("charge", "charge-payment", workflow.After("verify", "fraud")),
		workflow.Step("reserve", "reserve-stock", workflow.After("verify")),
		workflow.Step("ship", "ship-order", workflow.After("charge", "reserve")),
	}
	built := workflow.New("order", opts...).MustBuild()
	// The same lookups on a definition that was never built (no index).
	var plain workflow.Definition
	if err := json.Unmarshal(built.CanonicalJSON(), &plain); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*workflow.Definition{"built": built, "decoded": &plain} {
		t.Run(name, func(t *testing.T) {
			if s := d.Step("charge"); s == nil || s.Function != "charge-payment" {
				t.Errorf("Step(charge) = %+v", s)
			}
			if s := d.Step("nosuch"); s != nil {
				t.Errorf("Step(nosuch) = %+v, want nil", s)
			}
			deps := map[string][]string{
				"verify":  {"charge", "reserve"},
				"fraud":   {"charge"},
				"charge":  {"ship"},
				"reserve": {"ship"},
				"ship":    nil,
				"nosuch":  nil,
			}
			for step, want := range deps {
				if diff := cmp.Diff(want, d.Deps(step)); diff != "" {
					t.Errorf("Deps(%s) (-want +got):\n%s", step, diff)
				}
			}
		})
	}
	if s := built.Step("ship"); s != &built.Steps[4] {
		t.Error("Step does not return a pointer into Steps")
	}
}

func TestStepType(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]string{"": workflow.TypeTask, "task": "task", "pass": "pass", "fail": "fail", "wait": "wait"} {
		n := workflow.Node{Type: typ}
		if got := n.StepType(); got != want {
			t.Errorf("Node{Type: %q}.StepType() = %q, want %q", typ, got, want)
		}
	}
}

func TestVersionDefault(t *testing.T) {
	t.Parallel()
	d := workflow.New("v", workflow.Step("a", "f")).MustBuild()
	if d.Version != "1" {
		t.Errorf("Version = %q, want the default 1", d.Version)
	}
	l, err := workflow.Load([]byte("name: v\nsteps: [{name: a, function: f}]\n"), "v.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if l.Hash() != d.Hash() {
		t.Errorf("YAML without a version hashes %s, the DSL %s", l.Hash(), d.Hash())
	}
}

func TestDurationEncoding(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(workflow.Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Errorf("Marshal(90s) = %s, %v; want \"1m30s\"", b, err)
	}
	tests := []struct {
		json string
		want time.Duration
	}{
		{`"1m30s"`, 90 * time.Second},
		{`"250ms"`, 250 * time.Millisecond},
		{`90`, 90 * time.Second},
		{`0.5`, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		var d workflow.Duration
		if err := json.Unmarshal([]byte(tt.json), &d); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.json, err)
			continue
		}
		if d.D() != tt.want {
			t.Errorf("Unmarshal(%s) = %v, want %v", tt.json, d.D(), tt.want)
		}
		// Load reads the same forms from YAML and JSON files.
		src := `{"name": "d", "timeout": ` + tt.json + `, "steps": [{"name": "a", "function": "f"}]}`
		def, err := workflow.Load([]byte(src), "d.json")
		if err != nil {
			t.Errorf("Load with timeout %s: %v", tt.json, err)
			continue
		}
		if def.Timeout.D() != tt.want {
			t.Errorf("Load with timeout %s = %v, want %v", tt.json, def.Timeout.D(), tt.want)
		}
	}
	for _, bad := range []string{`"soon"`, `true`, `{}`} {
		var d workflow.Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s): got no error", bad)
		}
	}
}
