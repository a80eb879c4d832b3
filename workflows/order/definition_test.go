package order_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/order"
)

func build(t *testing.T) (*workflow.Definition, *step.Registry) {
	t.Helper()
	reg := step.NewRegistry()
	order.Register(reg)
	def, err := order.Workflow().Build(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return def, reg
}

func TestDefinitionBuilds(t *testing.T) {
	t.Parallel()
	def, _ := build(t)
	if def.Name != order.Name || def.Version != order.Version {
		t.Errorf("name/version = %s/%s", def.Name, def.Version)
	}
	// The shape: verify, then fraud ∥ reserve, then charge, warranty, ship, history.
	deps := map[string][]string{}
	for _, s := range def.Steps {
		deps[s.Name] = s.After
	}
	want := map[string][]string{
		"verify":   nil,
		"fraud":    {"verify"},
		"reserve":  {"verify"},
		"charge":   {"fraud", "reserve"},
		"warranty": {"charge"},
		"ship":     {"charge", "warranty"},
		"history":  {"ship"},
	}
	if diff := cmp.Diff(deps, want); diff != "" {
		t.Errorf("DAG (-got +want):\n%s", diff)
	}
	key, err := def.EvalKey(map[string]any{"orderId": "ord-42"})
	if err != nil || key != "ord-42" {
		t.Errorf("key = %q, %v; want ord-42", key, err)
	}
}

func TestDefinitionNeedsRegisteredFunctions(t *testing.T) {
	t.Parallel()
	_, err := order.Workflow().Build(workflow.Functions(step.NewRegistry().Has))
	if !errors.Is(err, workflow.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid for unregistered functions", err)
	}
}

func TestYAMLMatchesDSL(t *testing.T) {
	t.Parallel()
	dsl, reg := build(t)
	yml, err := order.Load(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatalf("load order.yaml: %v", err)
	}
	if yml.Hash() != dsl.Hash() {
		t.Errorf("order.yaml and Workflow() differ:\nyaml %s\ndsl  %s", yml.CanonicalJSON(), dsl.CanonicalJSON())
	}
}

// TestWarrantyCondition checks the warranty step runs only for orders with
// digital SKUs.
func TestWarrantyCondition(t *testing.T) {
	t.Parallel()
	def, _ := build(t)
	tests := []struct {
		name  string
		items []order.Item
		want  bool
	}{
		{"physical only", baseOrder().Items, false},
		{"AppleCare SKU", []order.Item{baseOrder().Items[0], appleCare}, true},
		{"digital flag", []order.Item{{SKU: "EGIFT-50", Qty: 1, UnitPriceCents: 5000, Digital: true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v order.Verification
			mustCall(t, order.FnVerify, withItems(baseOrder(), tt.items...), 1, &v)
			got, err := def.Eval("warranty", "when", workflow.Vars{
				Input: decode(t, withItems(baseOrder(), tt.items...)),
				Steps: map[string]any{"verify": map[string]any{"output": decode(t, v)}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("when = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestInputMappings feeds each step the input its definition maps to it
// (evaluating the CEL input expressions over the outputs and state of the
// steps before it) and checks every mapping decodes into the step's input
// type. It walks the happy path of one order in dependency order; it is a
// check of the wiring, not an engine.
func TestInputMappings(t *testing.T) {
	t.Parallel()
	def, reg := build(t)
	o := withItems(baseOrder(), baseOrder().Items[0], appleCare)
	vars := workflow.Vars{Input: decode(t, o), State: map[string]any{}, Steps: map[string]any{}, Attempt: 1}
	for _, name := range []string{"verify", "fraud", "reserve", "charge", "warranty", "ship", "history"} {
		node := def.Step(name)
		raw := json.RawMessage(mustJSON(t, o))
		if def.Has(name, "input") {
			in, err := def.Eval(name, "input", vars)
			if err != nil {
				t.Fatalf("%s: input: %v", name, err)
			}
			raw = mustJSON(t, in)
		}
		h, _ := reg.Lookup(node.Function)
		res, err := h.Handle(context.Background(), step.Request{Workflow: def.Name, Run: "r", Step: name, Function: node.Function, Attempt: 1, Input: raw})
		if err != nil {
			t.Fatalf("%s: %v (input %s)", name, err, raw)
		}
		vars.Steps[name] = map[string]any{"output": decode(t, res.Output)}
		if res.State != nil {
			for k, v := range decode(t, res.State).(map[string]any) {
				vars.State[k] = v // a shallow merge patch is enough here
			}
		}
	}
	if diff := cmp.Diff(vars.State["status"], any("completed")); diff != "" {
		t.Errorf("final status (-got +want):\n%s", diff)
	}
	hist := vars.Steps["history"].(map[string]any)["output"].(map[string]any)
	if hist["chargeId"] == "" || hist["shipmentId"] == "" || len(hist["warranties"].([]any)) != 1 {
		t.Errorf("history = %v", hist)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode turns v into the JSON-shaped values CEL expressions see.
func decode(t *testing.T, v any) any {
	t.Helper()
	raw, ok := v.([]byte)
	if !ok {
		if r, isRaw := v.(json.RawMessage); isRaw {
			raw = r
		} else {
			raw = mustJSON(t, v)
		}
	}
	out, err := workflow.DecodeJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
