package returns_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/refund"
	returns "github.com/ordoflow/ordo/workflows/return"
)

func call(t *testing.T, fn string, input any) (step.Result, error) {
	t.Helper()
	reg := step.NewRegistry()
	returns.Register(reg)
	h, ok := reg.Lookup(fn)
	if !ok {
		t.Fatalf("function %q is not registered", fn)
	}
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	return h.Handle(context.Background(), step.Request{Workflow: returns.Name, Run: "r", Step: fn, Function: fn, Attempt: 1, Input: raw})
}

func mustCall(t *testing.T, fn string, input, out any) step.Result {
	t.Helper()
	res, err := call(t, fn, input)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	if err := json.Unmarshal(res.Output, out); err != nil {
		t.Fatalf("%s: decode output %s: %v", fn, res.Output, err)
	}
	return res
}

func item(sku string, qty int, cents int64, cond string) returns.Item {
	return returns.Item{Line: refund.Line{SKU: sku, Qty: qty, UnitPriceCents: cents}, Condition: cond}
}

func request(reason string) returns.Request {
	return returns.Request{
		ReturnID: "rtn-1", OrderID: "ord-1", ChargeID: "ch_1",
		Customer: refund.Customer{ID: "cus-1", Email: "ada@example.com"},
		Reason:   reason,
		Items: []returns.Item{
			item("KETTLE", 1, 4_000, returns.ConditionUnopened),
			item("BLENDER", 1, 10_000, returns.ConditionOpened),
			item("TV", 1, 100_000, returns.ConditionDamaged),
		},
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	var a returns.Authorization
	res := mustCall(t, returns.FnAuthorize, request(refund.ReasonChangedMind), &a)
	if !strings.HasPrefix(a.RMA, "RMA-") || len(a.RMA) != 12 || !strings.HasPrefix(a.Label.TrackingNumber, "1Z") {
		t.Errorf("authorization = %+v", a)
	}
	if len(res.Effects) != 1 || res.Effects[0].Kind != "email" || !strings.Contains(string(res.Effects[0].Payload), a.RMA) {
		t.Errorf("effects = %+v", res.Effects)
	}
	var again returns.Authorization
	mustCall(t, returns.FnAuthorize, request(refund.ReasonChangedMind), &again)
	if again != a {
		t.Errorf("authorization is not deterministic: %+v then %+v", a, again)
	}
}

func TestAuthorizeRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*returns.Request)
		kind string
		is   error
	}{
		{"no return id", func(r *returns.Request) { r.ReturnID = "" }, "invalid-return", returns.ErrInvalid},
		{"unknown reason", func(r *returns.Request) { r.Reason = "bored" }, "invalid-return", returns.ErrInvalid},
		{"unknown condition", func(r *returns.Request) { r.Items[0].Condition = "eaten" }, "invalid-return", returns.ErrInvalid},
		{"no items", func(r *returns.Request) { r.Items = nil }, "invalid-return", returns.ErrInvalid},
		{"digital item", func(r *returns.Request) { r.Items[0].Digital = true }, "not-returnable", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request(refund.ReasonDamaged)
			tt.edit(&r)
			_, err := call(t, returns.FnAuthorize, r)
			if !step.IsTerminal(err) || step.FailureOf(err).Kind != tt.kind {
				t.Fatalf("err = %v, want terminal %s", err, tt.kind)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.is)
			}
		})
	}
}

func TestInspectAndRefund(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reason   string
		percents []int
		accepted int
		amount   int64
	}{
		// Our fault: everything back in full.
		{refund.ReasonDamaged, []int{100, 100, 100}, 3, 114_000},
		// Changed mind: unopened in full, opened less 15%, damaged rejected.
		{refund.ReasonChangedMind, []int{100, 85, 0}, 2, 12_500},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			t.Parallel()
			req := request(tt.reason)
			var insp returns.Inspection
			mustCall(t, returns.FnInspect, returns.InspectInput{Request: req, RMA: "RMA-1"}, &insp)
			var percents []int
			for _, l := range insp.Lines {
				percents = append(percents, l.RefundPercent)
			}
			if diff := cmp.Diff(percents, tt.percents); diff != "" || insp.Accepted != tt.accepted || insp.RMA != "RMA-1" {
				t.Errorf("inspection %+v (-got +want):\n%s", insp, diff)
			}

			var issued refund.Issued
			res := mustCall(t, returns.FnRefund, returns.RefundInput{Request: req, Inspection: insp}, &issued)
			want := refund.Issued{RefundTxID: refund.TxID("rtn-1"), ChargeID: "ch_1", AmountCents: tt.amount, Currency: "USD", Status: refund.StatusIssued}
			if diff := cmp.Diff(issued, want); diff != "" {
				t.Errorf("refund (-got +want):\n%s", diff)
			}
			if !strings.Contains(string(res.State), `"refundStatus":"issued"`) {
				t.Errorf("state = %s", res.State)
			}
		})
	}
}

func TestRefundNothingAccepted(t *testing.T) {
	t.Parallel()
	req := request(refund.ReasonChangedMind)
	req.Items = []returns.Item{item("TV", 1, 100_000, returns.ConditionDamaged)}
	var insp returns.Inspection
	mustCall(t, returns.FnInspect, returns.InspectInput{Request: req, RMA: "RMA-1"}, &insp)
	var issued refund.Issued
	mustCall(t, returns.FnRefund, returns.RefundInput{Request: req, Inspection: insp}, &issued)
	if issued.Status != refund.StatusNothing || issued.AmountCents != 0 || issued.RefundTxID != "" {
		t.Errorf("issued = %+v, want nothing refunded", issued)
	}
	var n refund.Notice
	res := mustCall(t, returns.FnNotify, returns.NotifyInput{Request: req, RMA: "RMA-1", Refund: issued}, &n)
	if n.Template != "return-rejected" || len(res.Effects) != 1 {
		t.Errorf("notice %+v, effects %+v", n, res.Effects)
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	issued := refund.Issued{RefundTxID: "re_1", AmountCents: 12_500, Currency: "USD", Status: refund.StatusIssued}
	var n refund.Notice
	res := mustCall(t, returns.FnNotify, returns.NotifyInput{Request: request(refund.ReasonChangedMind), RMA: "RMA-1", Refund: issued}, &n)
	if n.Template != "return-refunded" || n.To != "ada@example.com" {
		t.Errorf("notice = %+v", n)
	}
	if len(res.Effects) != 2 || res.Effects[1].Kind != "publish" || !strings.Contains(string(res.Effects[1].Payload), `"type":"ReturnRefunded"`) {
		t.Errorf("effects = %+v", res.Effects)
	}
	if string(res.State) != `{"status":"completed"}` {
		t.Errorf("state = %s", res.State)
	}
}

func TestDefinition(t *testing.T) {
	t.Parallel()
	reg := step.NewRegistry()
	returns.Register(reg)
	def, err := returns.Workflow().Build(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatal(err)
	}
	recv := def.Step("receive")
	if recv == nil || recv.StepType() != workflow.TypeWait || recv.Duration.D() != 50*time.Millisecond {
		t.Errorf("receive step = %+v, want a 50ms wait", recv)
	}

	// Walk the mappings: each step's mapped input decodes into its type.
	req := request(refund.ReasonChangedMind)
	vars := workflow.Vars{Input: decode(t, req), Steps: map[string]any{}}
	var a returns.Authorization
	mustCall(t, returns.FnAuthorize, req, &a)
	vars.Steps["authorize"] = map[string]any{"output": decode(t, a)}
	vars.Steps["receive"] = map[string]any{"output": nil} // a wait step's output is null
	for _, s := range []string{"inspect", "refund", "notify"} {
		in, err := def.Eval(s, "input", vars)
		if err != nil {
			t.Fatalf("%s: input: %v", s, err)
		}
		res, err := call(t, def.Step(s).Function, in)
		if err != nil {
			t.Fatalf("%s with mapped input: %v", s, err)
		}
		vars.Steps[s] = map[string]any{"output": decode(t, res.Output)}
	}
	if got := vars.Steps["refund"].(map[string]any)["output"].(map[string]any)["amountCents"]; got != int64(12_500) {
		t.Errorf("refunded %v, want 12500", got)
	}
}

func decode(t *testing.T, v any) any {
	t.Helper()
	b, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := workflow.DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
