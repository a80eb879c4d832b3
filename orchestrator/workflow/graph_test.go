package workflow_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

// graphDef exercises every node shape and edge kind.
func graphDef(t *testing.T) *workflow.Definition {
	t.Helper()
	d, err := workflow.New("order",
		workflow.Version("2"),
		workflow.Step("verify", "verify-order"),
		workflow.Step("fraud", "fraud-check:live",
			workflow.When(`input.total > 1000.0 && "vip" in input.tags`)),
		workflow.Pass("price", `{"total": input.total, "note": "a \"quoted\" <b>|x|</b>"}`,
			workflow.After("verify")),
		workflow.Fail("reject", "order rejected",
			workflow.After("verify", "fraud"),
			workflow.When(`steps.verify.output.ok == false ||
				steps.fraud.output.score > 0.9`)),
		workflow.Wait("cool-off", 90*time.Second, workflow.After("price")),
		workflow.Step("charge", "charge-payment", workflow.After("price", "cool-off")),
	).Build()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGraph(t *testing.T) {
	t.Parallel()
	d := graphDef(t)
	status := map[string]string{
		"verify":   "succeeded",
		"fraud":    "skipped",
		"price":    "succeeded",
		"reject":   "skipped",
		"cool-off": "running",
		"charge":   "pending",
		"nosuch":   "failed",
	}
	tests := []struct {
		name   string
		render func(map[string]string) string
		status map[string]string
	}{
		{"order.dot", d.Dot, nil},
		{"order-status.dot", d.Dot, status},
		{"order.mmd", d.Mermaid, nil},
		{"order-status.mmd", d.Mermaid, status},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.render(tt.status)
			if again := tt.render(tt.status); again != got {
				t.Fatalf("output is not deterministic:\n%s\nthen\n%s", got, again)
			}
			golden(t, tt.name, []byte(got))
		})
	}
}

func TestGraphStatuses(t *testing.T) {
	t.Parallel()
	d := workflow.New("s",
		workflow.Step("a", "f"),
		workflow.Step("b", "f", workflow.After("a")),
		workflow.Step("c", "f", workflow.After("a")),
		workflow.Step("d", "f", workflow.After("a")),
		workflow.Step("e", "f", workflow.After("a")),
		workflow.Step("f", "f", workflow.After("a")),
	).MustBuild()
	status := map[string]string{"a": "succeeded", "b": "failed", "c": "running", "d": "skipped", "e": "pending", "f": "review"}
	golden(t, "statuses.dot", []byte(d.Dot(status)))
	golden(t, "statuses.mmd", []byte(d.Mermaid(status)))
}
