package workflow_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// The input: a triple map over a list, which ran 17.8 s and used
// 2.7 GB; with the cost limit it stops at once with an error.
func TestExpressionCostLimit(t *testing.T) {
	d, err := workflow.Load([]byte(`
name: costly
steps:
  - name: a
    function: f
    input: input.xs.map(a, input.xs.map(b, input.xs.map(c, a + b + c)))
`), "costly.yaml")
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]any, 400)
	for i := range xs {
		xs[i] = int64(i)
	}
	start := time.Now()
	_, err = d.Eval("a", "input", workflow.Vars{Input: map[string]any{"xs": xs}})
	if err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("Eval = %v, want a cost limit error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the refused evaluation took %s", took)
	}
	// A reasonable input still evaluates.
	if _, err := d.Eval("a", "input", workflow.Vars{Input: map[string]any{"xs": xs[:10]}}); err != nil {
		t.Fatalf("10 elements: %v", err)
	}
}

func TestDefinitionSizeLimits(t *testing.T) {
	var steps strings.Builder
	for i := range workflow.MaxSteps + 1 {
		fmt.Fprintf(&steps, "  - {name: s%d, function: f}\n", i)
	}
	huge := "name: huge\nsteps:\n" + strings.Repeat("  - {name: s, function: f}\n", workflow.MaxDefinitionBytes/20)
	long := strings.Repeat("1 + ", 2000) + "1"
	for name, tc := range map[string]struct{ src, want string }{
		"too many steps":  {"name: many\nsteps:\n" + steps.String(), "at most 500"},
		"too many bytes":  {huge, "bytes: at most"},
		"long expression": {"name: long\nsteps:\n  - {name: a, function: f, when: '" + long + "'}\n", "longer than"},
		"syntax error": {"name: bad\nsteps:\n  - {name: a, function: f, when: '" + strings.Repeat("x.", 1500) + "'}\n",
			"CEL"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := workflow.Load([]byte(tc.src), name+".yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %.300v, want an error with %q", err, tc.want)
			}
			if n := len(err.Error()); n > 1200 {
				t.Errorf("error message of %d bytes: expressions must be quoted in excerpts", n)
			}
		})
	}
}
