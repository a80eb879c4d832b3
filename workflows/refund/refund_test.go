package refund_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/internal/oms"
	"github.com/ordoflow/ordo/workflows/refund"
)

func call(t *testing.T, fn string, input any) (step.Result, error) {
	t.Helper()
	reg := step.NewRegistry()
	refund.Register(reg)
	h, ok := reg.Lookup(fn)
	if !ok {
		t.Fatalf("function %q is not registered", fn)
	}
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	return h.Handle(context.Background(), step.Request{Workflow: refund.Name, Run: "r", Step: fn, Function: fn, Attempt: 1, Input: raw})
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

func request() refund.Request {
	return refund.Request{
		RefundID: "rfd-1", OrderID: "ord-1", ChargeID: "ch_1",
		Customer: refund.Customer{ID: "cus-1", Email: "ada@example.com"},
		Reason:   refund.ReasonDamaged,
		Items: []refund.Line{
			{SKU: "KETTLE", Qty: 1, UnitPriceCents: 3_999},
			{SKU: "EBOOK", Qty: 2, UnitPriceCents: 1_000, Digital: true},
		},
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	var v refund.Validation
	mustCall(t, refund.FnValidate, request(), &v)
	if diff := cmp.Diff(v, refund.Validation{RefundID: "rfd-1", OrderID: "ord-1", Lines: 2}); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}

	tests := []struct {
		name string
		edit func(*refund.Request)
		want string
	}{
		{"no refund id", func(r *refund.Request) { r.RefundID = "" }, "missing refundId"},
		{"no charge", func(r *refund.Request) { r.ChargeID = "" }, "missing chargeId"},
		{"bad email", func(r *refund.Request) { r.Customer.Email = "nobody" }, "invalid customer email"},
		{"unknown reason", func(r *refund.Request) { r.Reason = "whim" }, "unknown reason"},
		{"no items", func(r *refund.Request) { r.Items = nil }, "no items"},
		{"zero quantity", func(r *refund.Request) { r.Items = []refund.Line{{SKU: "X", Qty: 0}} }, "quantity 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request()
			tt.edit(&r)
			_, err := call(t, refund.FnValidate, r)
			if !step.IsTerminal(err) || !errors.Is(err, refund.ErrInvalid) || step.FailureOf(err).Kind != "invalid-refund" {
				t.Fatalf("err = %v, want terminal ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q in it", err, tt.want)
			}
		})
	}
}

func TestCompute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reason string
		lines  []refund.Line
		want   refund.Quote
	}{
		{"our fault: full", refund.ReasonDamaged, request().Items, refund.Quote{SubtotalCents: 5_999, AmountCents: 5_999}},
		// 15% of 3999 is 599.85, rounded to 600; digital lines carry no fee.
		{"changed mind: restocking fee", refund.ReasonChangedMind, request().Items, refund.Quote{SubtotalCents: 5_999, RestockingFeeCents: 600, AmountCents: 5_399}},
		{"changed mind, digital only", refund.ReasonChangedMind, request().Items[1:], refund.Quote{SubtotalCents: 2_000, AmountCents: 2_000}},
		{"nothing", refund.ReasonDefective, nil, refund.Quote{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(refund.Compute(tt.lines, tt.reason), tt.want); diff != "" {
				t.Errorf("Compute (-got +want):\n%s", diff)
			}
		})
	}

	r := request()
	r.Reason = refund.ReasonChangedMind
	var q refund.Quote
	res := mustCall(t, refund.FnCompute, r, &q)
	if q.AmountCents != 5_399 || q.Currency != "USD" {
		t.Errorf("quote = %+v", q)
	}
	if string(res.State) != `{"refund":{"amountCents":5399}}` {
		t.Errorf("state = %s", res.State)
	}
}

func TestIssue(t *testing.T) {
	t.Parallel()
	var got refund.Issued
	res := mustCall(t, refund.FnIssue, refund.IssueInput{Request: request(), AmountCents: 5_999}, &got)
	want := refund.Issued{RefundTxID: refund.TxID("rfd-1"), ChargeID: "ch_1", AmountCents: 5_999, Currency: "USD", Status: refund.StatusIssued}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	if !strings.Contains(string(res.State), `"refundStatus":"issued"`) {
		t.Errorf("state = %s", res.State)
	}

	got = refund.Issued{}
	mustCall(t, refund.FnIssue, refund.IssueInput{Request: request()}, &got)
	if got.Status != refund.StatusNothing || got.RefundTxID != "" {
		t.Errorf("zero amount: %+v", got)
	}

	_, err := call(t, refund.FnIssue, refund.IssueInput{Request: request(), AmountCents: -1})
	if !step.IsTerminal(err) {
		t.Errorf("negative amount: err = %v, want terminal", err)
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	issued := refund.Issued{RefundTxID: "re_1", ChargeID: "ch_1", AmountCents: 5_999, Currency: "USD", Status: refund.StatusIssued}
	var n refund.Notice
	res := mustCall(t, refund.FnNotify, refund.NotifyInput{Request: request(), Refund: issued}, &n)
	if n.Template != "refund-issued" || n.To != "ada@example.com" {
		t.Errorf("notice = %+v", n)
	}
	if len(res.Effects) != 2 || res.Effects[0].Kind != oms.KindEmail || res.Effects[1].Kind != oms.KindPublish || res.Effects[1].Target != oms.TopicOrderEvents {
		t.Fatalf("effects = %+v", res.Effects)
	}
	if !strings.Contains(string(res.Effects[0].Payload), `"amount":"59.99 USD"`) {
		t.Errorf("email payload = %s", res.Effects[0].Payload)
	}

	res = mustCall(t, refund.FnNotify, refund.NotifyInput{Request: request(), Refund: refund.Issued{Status: refund.StatusNothing}}, &n)
	if n.Template != "refund-declined" || len(res.Effects) != 1 {
		t.Errorf("nothing refunded: notice %+v, effects %+v", n, res.Effects)
	}
}

func TestDefinition(t *testing.T) {
	t.Parallel()
	reg := step.NewRegistry()
	refund.Register(reg)
	def, err := refund.Workflow().Build(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatal(err)
	}
	// The issue and notify input mappings decode into their step inputs.
	q := refund.Compute(request().Items, request().Reason)
	in := decode(t, request())
	vars := workflow.Vars{Input: in, Steps: map[string]any{
		"compute": map[string]any{"output": decode(t, q)},
		"issue":   map[string]any{"output": decode(t, refund.Issued{AmountCents: q.AmountCents, Status: refund.StatusIssued})},
	}}
	for _, s := range []string{"issue", "notify"} {
		v, err := def.Eval(s, "input", vars)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if _, err := call(t, def.Step(s).Function, v); err != nil {
			t.Errorf("%s with mapped input: %v", s, err)
		}
	}
	key, _ := def.EvalKey(in)
	if key != "rfd-1" {
		t.Errorf("key = %q", key)
	}
	deferred, _ := def.Eval("", "deferredKey", vars)
	if deferred != "ord-1" {
		t.Errorf("deferred key = %v", deferred)
	}
}

func decode(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := workflow.DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
