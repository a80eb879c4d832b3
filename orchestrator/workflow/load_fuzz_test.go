package workflow_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// FuzzLoad feeds YAML and JSON definitions to the loader: it never panics,
// and a definition it accepts survives its canonical JSON unchanged.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"name":"j","steps":[{"name":"a","function":"f","when":"input.x > 1"}]}`))
	f.Add([]byte("name: m\nsteps:\n  - {name: a, type: map, items: input.xs, function: f}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := workflow.Load(data, "fuzz.yaml")
		if err != nil {
			return
		}
		again, err := workflow.Load(d.CanonicalJSON(), "canonical.json")
		if err != nil {
			t.Fatalf("the canonical JSON of an accepted definition does not load: %v\n%s", err, d.CanonicalJSON())
		}
		if again.Hash() != d.Hash() {
			t.Fatalf("hash changed through canonical JSON: %s != %s", again.Hash(), d.Hash())
		}
	})
}

// FuzzExpression compiles and evaluates CEL conditions over a fixed input:
// no panic, and no evaluation runs past the cost limit.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{"input.x > 1", "has(input.y) && input.y.size() > 2", "input.xs.map(a, a * 2).size() == 3",
		"input.xs.map(a, input.xs.map(b, input.xs.map(c, a + b + c)))", `"a" + string(input.x)`, "1/0", "[1,2][5]"} {
		f.Add(s)
	}
	xs := make([]any, 200)
	for i := range xs {
		xs[i] = int64(i)
	}
	vars := workflow.Vars{Input: map[string]any{"x": int64(3), "y": "abc", "xs": xs}}
	f.Fuzz(func(t *testing.T, expr string) {
		d, err := workflow.New("fz", workflow.Step("a", "f", workflow.When(expr))).Build()
		if err != nil {
			return
		}
		_, _ = d.Eval("a", "when", vars)
	})
}
