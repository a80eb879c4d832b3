package workflow_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	v, err := workflow.DecodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// exprDef has one pass step per expression under test, so that each can be
// evaluated by name.
func exprDef(t *testing.T, exprs map[string]string) *workflow.Definition {
	t.Helper()
	var opts []workflow.Option
	for name, src := range exprs {
		opts = append(opts, workflow.Pass(name, src))
	}
	d, err := workflow.New("expr", opts...).Build()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEval(t *testing.T) {
	t.Parallel()
	vars := workflow.Vars{
		Input: decode(t, `{"qty": 2, "total": 3, "price": 2.5, "id": 9007199254740993,
			"items": [{"sku": "a", "n": 1}], "tags": ["vip"]}`),
		State: decode(t, `{"count": 4, "status": "paid"}`).(map[string]any),
		Steps: map[string]any{
			"verify": map[string]any{"output": decode(t, `{"ok": true, "score": 0.25}`)},
		},
		Attempt: 2,
	}
	tests := []struct {
		name string
		expr string
		want any
	}{
		{"integral numbers are int64", "input.qty + 1", int64(3)},
		{"fractional numbers are float64", "input.price * 2.0", 5.0},
		{"int compared with double", "input.total > 2.5", true},
		{"double compared with int", "input.price < 3", true},
		{"int equals double", "input.total == 3.0", true},
		{"large integers keep their precision", "input.id", int64(9007199254740993)},
		{"state", "state.count * 2", int64(8)},
		{"state string", `state.status == "paid"`, true},
		{"steps", "steps.verify.output.ok && steps.verify.output.score < 0.5", true},
		{"attempt", "attempt", int64(2)},
		{"attempt in a condition", "attempt > 1", true},
		{"has", "has(steps.charge)", false},
		{"list from input", "input.items", []any{map[string]any{"sku": "a", "n": int64(1)}}},
		{"in", `"vip" in input.tags`, true},
		{"map built in CEL", `{"n": input.qty + 1, "id": input.id, "price": input.price, "ok": true, "none": null}`,
			map[string]any{"n": int64(3), "id": int64(9007199254740993), "price": 2.5, "ok": true, "none": nil}},
		{"list built in CEL", `[input.qty, "a", 1.5, [1, 2], {"k": input.items[0].sku}]`,
			[]any{int64(2), "a", 1.5, []any{int64(1), int64(2)}, map[string]any{"k": "a"}}},
		{"map of input values", `{"items": input.items, "first": input.items[0]}`,
			map[string]any{
				"items": []any{map[string]any{"sku": "a", "n": int64(1)}},
				"first": map[string]any{"sku": "a", "n": int64(1)},
			}},
		{"comprehension", "input.items.map(i, i.n * 10)", []any{int64(10)}},
		{"timestamp as RFC 3339", `timestamp("2024-01-02T03:04:05Z")`, "2024-01-02T03:04:05Z"},
		{"string", `"order-" + string(input.qty)`, "order-2"},
		{"null", "null", nil},
	}
	exprs := map[string]string{}
	for i, tt := range tests {
		exprs[stepName(i)] = tt.expr
	}
	d := exprDef(t, exprs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.Eval(stepName(i), "output", vars)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func stepName(i int) string { return "e" + string(rune('a'+i/26)) + string(rune('a'+i%26)) }

// TestEvalFields evaluates each field a step or the workflow may have.
func TestEvalFields(t *testing.T) {
	t.Parallel()
	d := workflow.New("fields",
		workflow.Key(`input.orderId`),
		workflow.DeferredBy(`"customer-" + input.customer`),
		workflow.Output(`{"done": state.done}`),
		workflow.Step("a", "f",
			workflow.When("input.qty > 0"),
			workflow.Input(`{"qty": input.qty, "attempt": attempt}`)),
		workflow.Pass("b", "steps.a.output", workflow.After("a"),
			workflow.ErrorIf(`steps.a.output.ok ? "" : "not ok"`, true)),
		workflow.Wait("c", 0, workflow.After("b"), workflow.Until(`timestamp(input.at)`)),
	).MustBuild()
	v := workflow.Vars{
		Input:   decode(t, `{"orderId": "o-1", "customer": "c-9", "qty": 2, "at": "2030-01-01T00:00:00Z"}`),
		State:   map[string]any{"done": true},
		Steps:   map[string]any{"a": map[string]any{"output": map[string]any{"ok": false}}},
		Attempt: 3,
	}
	tests := []struct {
		step, field string
		want        any
	}{
		{"", "key", "o-1"},
		{"", "deferredKey", "customer-c-9"},
		{"", "output", map[string]any{"done": true}},
		{"a", "when", true},
		{"a", "input", map[string]any{"qty": int64(2), "attempt": int64(3)}},
		{"b", "output", map[string]any{"ok": false}},
		{"b", "error", "not ok"},
		{"c", "until", "2030-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		if !d.Has(tt.step, tt.field) {
			t.Errorf("Has(%q, %q) = false", tt.step, tt.field)
		}
		got, err := d.Eval(tt.step, tt.field, v)
		if err != nil {
			t.Errorf("Eval(%q, %q): %v", tt.step, tt.field, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Eval(%q, %q) (-want +got):\n%s", tt.step, tt.field, diff)
		}
	}
	if d.Has("a", "output") {
		t.Error(`Has("a", "output") = true for a task step`)
	}
	if _, err := d.Eval("a", "output", v); err == nil || !strings.Contains(err.Error(), `step "a" has no output expression`) {
		t.Errorf("Eval of a missing expression: got %v", err)
	}
	if _, err := d.Eval("a", "when", workflow.Vars{Input: map[string]any{}}); err == nil || !strings.Contains(err.Error(), "no such key") {
		t.Errorf("Eval over input without qty: got %v, want a no-such-key error", err)
	}
	var unbuilt workflow.Definition
	if _, err := unbuilt.Eval("a", "when", v); err == nil {
		t.Error("Eval of a definition that was not built: got no error")
	}
}

func TestEvalKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key   string
		input string
		want  string
	}{
		{"", `{"orderId": "o-1"}`, ""},
		{"input.orderId", `{"orderId": "o-1"}`, "o-1"},
		{"input.orderId", `{"orderId": 42}`, "42"},
		{"input.orderId", `{"orderId": 9007199254740993}`, "9007199254740993"},
		{`input.customer + "/" + input.orderId`, `{"customer": "c", "orderId": "o"}`, "c/o"},
		{"[input.a, input.b]", `{"a": "x", "b": 2}`, `["x",2]`},
	}
	for _, tt := range tests {
		opts := []workflow.Option{workflow.Step("a", "f")}
		if tt.key != "" {
			opts = append(opts, workflow.Key(tt.key))
		}
		d := workflow.New("keyed", opts...).MustBuild()
		got, err := d.EvalKey(decode(t, tt.input))
		if err != nil {
			t.Errorf("EvalKey(%s) with key %q: %v", tt.input, tt.key, err)
			continue
		}
		if got != tt.want {
			t.Errorf("EvalKey(%s) with key %q = %q, want %q", tt.input, tt.key, got, tt.want)
		}
	}
}

func TestKeyString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    any
		want string
	}{
		{"s", "s"},
		{nil, ""},
		{int64(-7), "-7"},
		{float64(42), "42"},
		{2.5, "2.5"},
		{true, "true"},
		{map[string]any{"b": int64(1), "a": "x"}, `{"a":"x","b":1}`},
	}
	for _, tt := range tests {
		if got := workflow.KeyString(tt.v); got != tt.want {
			t.Errorf("KeyString(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestEvalTrigger(t *testing.T) {
	t.Parallel()
	d := workflow.New("triggered",
		workflow.Step("a", "f"),
		workflow.OnMessage(workflow.Trigger{Source: "sqs:all"}),
		workflow.OnMessage(workflow.Trigger{
			Source: "sqs:orders",
			When:   `message.type == "order.placed" && message.detail.qty > 0`,
			Input:  `{"orderId": message.detail.id, "qty": message.detail.qty + 0}`,
			Key:    `"order-" + input.detail.id`, // input is the message too
		}),
	).MustBuild()
	msg := decode(t, `{"type": "order.placed", "detail": {"id": "o-1", "qty": 3}}`)
	tests := []struct {
		field string
		want  any
	}{
		{"when", true},
		{"input", map[string]any{"orderId": "o-1", "qty": int64(3)}},
		{"key", "order-o-1"},
	}
	for _, tt := range tests {
		got, err := d.EvalTrigger(1, tt.field, msg)
		if err != nil {
			t.Errorf("EvalTrigger(1, %q): %v", tt.field, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("EvalTrigger(1, %q) (-want +got):\n%s", tt.field, diff)
		}
	}
	if got, _ := d.EvalTrigger(1, "when", decode(t, `{"type": "order.cancelled", "detail": {"qty": 3}}`)); got != false {
		t.Errorf("EvalTrigger(1, when) of another message type = %v, want false", got)
	}
	if _, err := d.EvalTrigger(0, "when", msg); err == nil {
		t.Error("EvalTrigger(0, when) of a trigger without when: got no error")
	}
	if _, err := d.EvalTrigger(1, "when", decode(t, `{"type": "order.placed"}`)); err == nil {
		t.Error("EvalTrigger over a message without detail: got no error")
	}
}

func TestTriggerRejectsRunVariables(t *testing.T) {
	t.Parallel()
	_, err := workflow.New("t",
		workflow.Step("a", "f"),
		workflow.OnMessage(workflow.Trigger{Source: "sqs:q", When: "state.x == 1"}),
	).Build()
	if err == nil || !strings.Contains(err.Error(), "trigger 1: when") {
		t.Errorf("a trigger over state: got %v, want a trigger 1 when problem", err)
	}
	_, err = workflow.New("t", workflow.Step("a", "f"), workflow.OnMessage(workflow.Trigger{})).Build()
	if err == nil || !strings.Contains(err.Error(), "trigger 1 has no source") {
		t.Errorf("a trigger without source: got %v", err)
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want any
	}{
		{``, nil},
		{`null`, nil},
		{`2`, int64(2)},
		{`-3`, int64(-3)},
		{`2.5`, 2.5},
		{`9007199254740993`, int64(9007199254740993)},
		{`"s"`, "s"},
		{`{"a": [1, 2.5, {"b": 3}], "c": true}`,
			map[string]any{"a": []any{int64(1), 2.5, map[string]any{"b": int64(3)}}, "c": true}},
	}
	for _, tt := range tests {
		got, err := workflow.DecodeJSON([]byte(tt.in))
		if err != nil {
			t.Errorf("DecodeJSON(%s): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("DecodeJSON(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
	if _, err := workflow.DecodeJSON([]byte(`{"a":`)); err == nil {
		t.Error("DecodeJSON of truncated JSON: got no error")
	}
}

func TestTriggerProblemsInOrder(t *testing.T) {
	t.Parallel()
	b := workflow.New("t", workflow.Step("a", "f"),
		workflow.OnMessage(workflow.Trigger{Source: "sqs:q", When: "state.a", Input: "state.b", Key: "state.c"}))
	var first string
	for i := 0; i < 20; i++ {
		_, err := b.Build()
		if err == nil {
			t.Fatal("Build: got no error")
		}
		if i == 0 {
			first = err.Error()
			if w, in, k := strings.Index(first, "when:"), strings.Index(first, "input:"), strings.Index(first, "key:"); !(w < in && in < k) {
				t.Errorf("trigger problems not in when, input, key order: %v", err)
			}
		} else if err.Error() != first {
			t.Fatalf("Build gave different errors:\n%s\n%s", first, err)
		}
	}
}
