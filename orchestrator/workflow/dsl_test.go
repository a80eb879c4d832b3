package workflow_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// orderHash pins the hash of the order workflow: it must not change across
// runs, machines or releases, since runs in flight name their definition by
// it. If a deliberate change to the model changes it, say so in the commit.
const orderHash = "sha256:4444e13350ae57c8d73acf1c9148f5039a1eed2f72cc7c45c4dae1243cf89c75"

// orderOptions is the order workflow of testdata/order.yaml and
// testdata/order.json, written with the DSL.
func orderOptions() []workflow.Option {
	return []workflow.Option{
		workflow.Version("2"),
		workflow.Describe("Take an order from payment to shipping."),
		workflow.Key("input.orderId"),
		workflow.DeferredBy("input.customerId"),
		workflow.Output(`{"orderId": input.orderId, "charged": steps.charge.output}`),
		workflow.RunTimeout(time.Hour),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{
			MaxAttempts:        5,
			InitialInterval:    workflow.Duration(time.Second),
			BackoffCoefficient: 2,
			MaxInterval:        workflow.Duration(time.Minute),
			Jitter:             true,
		}),
		workflow.OnMessage(workflow.Trigger{
			Source: "sqs:orders",
			When:   `message.type == "order.placed"`,
			Input:  "message.detail",
			Key:    "message.detail.orderId",
		}),
		workflow.Step("verify", "verify-order", workflow.Timeout(10*time.Second)),
		workflow.Pass("price", `{"total": input.qty * input.unitPrice}`,
			workflow.After("verify"),
			workflow.ErrorIf(`input.qty > 100 ? "too many items" : ""`, true)),
		workflow.Fail("reject", "order total too high",
			workflow.After("price"),
			workflow.When("steps.price.output.total > 10000")),
		workflow.Step("charge", "charge-payment:live",
			workflow.After("price"),
			workflow.When("steps.price.output.total <= 10000"),
			workflow.Input(`{"orderId": input.orderId, "amount": steps.price.output.total}`),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, NonRetryable: []string{"card-declined"}}),
			workflow.Effects("payment")),
		workflow.Wait("cool-off", 30*time.Second, workflow.After("charge")),
		workflow.Wait("ship-window", 0, workflow.After("charge"), workflow.Until("timestamp(input.shipAfter)")),
		workflow.Step("ship", "ship-order", workflow.After("cool-off", "ship-window")),
	}
}

func orderDSL(t *testing.T, extra ...workflow.Option) *workflow.Definition {
	t.Helper()
	d, err := workflow.New("order", append(orderOptions(), extra...)...).Build()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFrontEndsAgree builds the same workflow with the DSL, from YAML and
// from JSON, and from its own canonical JSON: all four encode and hash alike.
func TestFrontEndsAgree(t *testing.T) {
	t.Parallel()
	dsl := orderDSL(t)
	golden(t, "order.canonical.json", indent(t, dsl.CanonicalJSON()))
	if got := dsl.Hash(); got != orderHash {
		t.Errorf("Hash() = %s, want the pinned %s", got, orderHash)
	}
	sum := sha256.Sum256(dsl.CanonicalJSON())
	if got, want := dsl.Hash(), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Hash() = %s, want sha256 of the canonical JSON %s", got, want)
	}
	for _, file := range []string{"order.yaml", "order.json"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			d, err := workflow.LoadFile(filepath.Join("testdata", file), workflow.Functions(func(string) bool { return true }))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(dsl.CanonicalJSON()), string(d.CanonicalJSON())); diff != "" {
				t.Errorf("canonical JSON differs from the DSL's (-dsl +%s):\n%s", file, diff)
			}
			if got := d.Hash(); got != dsl.Hash() {
				t.Errorf("Hash() = %s, want the DSL's %s", got, dsl.Hash())
			}
		})
	}
	t.Run("canonical JSON", func(t *testing.T) {
		t.Parallel()
		d, err := workflow.Load(dsl.CanonicalJSON(), "order.canonical.json")
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Hash(); got != dsl.Hash() {
			t.Errorf("Hash() = %s, want %s", got, dsl.Hash())
		}
		var plain workflow.Definition // decoded, not built: hashed afresh
		if err := json.Unmarshal(dsl.CanonicalJSON(), &plain); err != nil {
			t.Fatal(err)
		}
		if got := plain.Hash(); got != dsl.Hash() {
			t.Errorf("Hash() of the decoded JSON = %s, want %s", got, dsl.Hash())
		}
	})
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestHashChanges changes one thing at a time: each change gives a new hash.
func TestHashChanges(t *testing.T) {
	t.Parallel()
	step := func(name string, f func(*workflow.Node)) workflow.Option {
		return func(d *workflow.Definition) { f(d.Step(name)) }
	}
	tests := []struct {
		name   string
		change workflow.Option
	}{
		{"version", workflow.Version("3")},
		{"description", workflow.Describe("Take an order.")},
		{"key", workflow.Key("input.id")},
		{"deferred key", workflow.DeferredBy("input.customer")},
		{"output", workflow.Output("state")},
		{"run timeout", workflow.RunTimeout(2 * time.Hour)},
		{"default retry", workflow.DefaultRetryPolicy(workflow.RetryPolicy{MaxAttempts: 6})},
		{"trigger", workflow.OnMessage(workflow.Trigger{Source: "sqs:returns"})},
		{"new step", workflow.Step("notify", "notify", workflow.After("ship"))},
		{"function", step("verify", func(s *workflow.Node) { s.Function = "verify-order:v2" })},
		{"after", step("ship", func(s *workflow.Node) { s.After = []string{"ship-window", "cool-off"} })},
		{"when", step("charge", func(s *workflow.Node) { s.When = "steps.price.output.total < 10000" })},
		{"input", step("charge", func(s *workflow.Node) { s.Input = "input" })},
		{"pass output", step("price", func(s *workflow.Node) { s.Output = "input" })},
		{"terminal", step("price", func(s *workflow.Node) { s.Terminal = false })},
		{"message", step("reject", func(s *workflow.Node) { s.Message = "too high" })},
		{"duration", step("cool-off", func(s *workflow.Node) { s.Duration = workflow.Duration(31 * time.Second) })},
		{"step timeout", step("verify", func(s *workflow.Node) { s.Timeout = 0 })},
		{"step retry", step("charge", func(s *workflow.Node) { s.Retry.Jitter = true })},
		{"effects", step("charge", func(s *workflow.Node) { s.Effects = nil })},
	}
	base := orderDSL(t).Hash()
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		d, err := workflow.New("order", append(orderOptions(), tt.change)...).Build()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		h := d.Hash()
		if prev, dup := seen[h]; dup {
			t.Errorf("changing %s gives the hash of %s: %s", tt.name, prev, h)
		}
		seen[h] = tt.name
	}
	if again := orderDSL(t).Hash(); again != base {
		t.Errorf("rebuilding gave %s, then %s", base, again)
	}
}

func TestBuilderReusable(t *testing.T) {
	t.Parallel()
	b := workflow.New("order", orderOptions()...)
	d1, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d1.Steps[0].Function = "changed"
	d2 := b.MustBuild()
	if got := d2.Step("verify").Function; got != "verify-order" {
		t.Errorf("second Build sees function %q, want verify-order", got)
	}
	if d1 == d2 {
		t.Error("Build returned the same *Definition twice")
	}
}

func TestMustBuildPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		err, _ := recover().(error)
		if err == nil {
			t.Fatal("MustBuild did not panic with an error")
		}
		if !errors.Is(err, workflow.ErrInvalid) {
			t.Errorf("MustBuild panicked with %v, want ErrInvalid", err)
		}
	}()
	workflow.New("order", workflow.Step("a", "f", workflow.After("b"))).MustBuild()
}

// TestBuildProblems checks that Build (no file) reports every problem, with
// the step and field but no line.
func TestBuildProblems(t *testing.T) {
	t.Parallel()
	_, err := workflow.New("bad name!",
		workflow.Step("a", ""),
		workflow.Step("b", "f", workflow.After("zz"), workflow.When("input.x +")),
		workflow.Wait("c", 0),
	).Build()
	var ie *workflow.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("Build: got %v, want *InvalidError", err)
	}
	type where struct{ Step, Field string }
	var got []where
	for _, p := range ie.Problems {
		if p.Line != 0 || p.File != "" {
			t.Errorf("problem %v has a file or line", p)
		}
		got = append(got, where{p.Step, p.Field})
	}
	want := []where{{"", "name"}, {"a", "function"}, {"b", "after"}, {"b", "when"}, {"c", "duration"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
	}
	if ie.Workflow != "bad name!" {
		t.Errorf("Workflow = %q", ie.Workflow)
	}
}
