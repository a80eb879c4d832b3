package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
	"github.com/ordoflow/ordo/workflows/order"
	"github.com/ordoflow/ordo/workflows/refund"
	returns "github.com/ordoflow/ordo/workflows/return"
)

func TestDefinitions(t *testing.T) {
	t.Parallel()
	reg := step.NewRegistry()
	workflows.Register(reg)
	defs, err := workflows.Definitions(reg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	used := map[string]bool{}
	for _, d := range defs {
		names = append(names, d.Name+"@"+d.Version)
		if !strings.HasPrefix(d.Hash(), "sha256:") {
			t.Errorf("%s: hash %q", d.Name, d.Hash())
		}
		for _, s := range d.Steps {
			if s.Function != "" {
				used[s.Function] = true
			}
		}
	}
	if diff := cmp.Diff(names, []string{"order@2", "refund@1", "return@1"}); diff != "" {
		t.Errorf("definitions (-got +want):\n%s", diff)
	}
	// Every registered function is used by a definition, and vice versa.
	for _, n := range reg.Names() {
		if !used[n] {
			t.Errorf("function %q is registered but no definition uses it", n)
		}
	}
	if len(used) != len(reg.Names()) {
		t.Errorf("definitions use %d functions, %d registered", len(used), len(reg.Names()))
	}
}

func TestDefinitionsNeedRegistry(t *testing.T) {
	t.Parallel()
	if _, err := workflows.Definitions(step.NewRegistry()); err == nil {
		t.Fatal("Definitions over an empty registry succeeded")
	}
}

func TestRegisterNames(t *testing.T) {
	t.Parallel()
	reg := step.NewRegistry()
	workflows.Register(reg)
	want := []string{
		"order-charge-payment", "order-fraud-check", "order-issue-warranty", "order-record-history",
		"order-reserve-inventory", "order-ship", "order-verify",
		"refund-compute", "refund-issue", "refund-notify", "refund-validate",
		"return-authorize", "return-inspect", "return-notify", "return-refund",
	}
	if diff := cmp.Diff(reg.Names(), want); diff != "" {
		t.Errorf("registered names (-got +want):\n%s", diff)
	}
}

func decodeOrder(t *testing.T, raw json.RawMessage) order.Order {
	t.Helper()
	var o order.Order
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestSampleOrderDistribution(t *testing.T) {
	t.Parallel()
	const n = 1000
	var digital, short, declined, normal int
	ids := map[string]bool{}
	for i := range n {
		raw := workflows.SampleOrder(i)
		if !json.Valid(raw) || string(raw) != string(workflows.SampleOrder(i)) {
			t.Fatalf("SampleOrder(%d) is not deterministic JSON", i)
		}
		o := decodeOrder(t, raw)
		if ids[o.OrderID] {
			t.Fatalf("SampleOrder(%d): duplicate order id %s", i, o.OrderID)
		}
		ids[o.OrderID] = true
		isDigital, isShort := false, false
		for _, it := range o.Items {
			isDigital = isDigital || it.IsDigital()
			isShort = isShort || strings.HasPrefix(it.SKU, order.PrefixLowStock)
		}
		isDeclined := o.Payment.CardNumber == order.CardDeclined
		if got, want := isDigital, i%7 == 6; got != want {
			t.Errorf("SampleOrder(%d): digital = %v, want %v", i, got, want)
		}
		if got, want := isShort, i%11 == 10; got != want {
			t.Errorf("SampleOrder(%d): shortage = %v, want %v", i, got, want)
		}
		if got, want := isDeclined, i%25 == 24; got != want {
			t.Errorf("SampleOrder(%d): declined = %v, want %v", i, got, want)
		}
		if isDigital {
			digital++
		}
		if isShort {
			short++
		}
		if isDeclined {
			declined++
		}
		if !isDigital && !isShort && !isDeclined {
			normal++
		}
	}
	if digital != n/7 || short != n/11 || declined != n/25 {
		t.Errorf("digital %d, short %d, declined %d; want %d, %d, %d", digital, short, declined, n/7, n/11, n/25)
	}
	if normal < n*7/10 { // about 75%: 1 - 1/7 - 1/11 - 1/25 plus overlaps
		t.Errorf("only %d of %d orders are normal", normal, n)
	}
}

// TestSamplesAreWellFormed runs the first step of each workflow over many
// samples: every sample passes verification and fraud screening, so the
// only failures a demo sees are the deliberate ones.
func TestSamplesAreWellFormed(t *testing.T) {
	t.Parallel()
	reg := step.NewRegistry()
	workflows.Register(reg)
	for i := -3; i < 200; i++ {
		for fn, in := range map[string]json.RawMessage{
			order.FnVerify:      workflows.SampleOrder(i),
			order.FnFraud:       workflows.SampleOrder(i),
			refund.FnValidate:   workflows.SampleRefund(i),
			returns.FnAuthorize: workflows.SampleReturn(i),
		} {
			h, _ := reg.Lookup(fn)
			if _, err := h.Handle(t.Context(), step.Request{Step: fn, Attempt: 1, Input: in}); err != nil {
				t.Fatalf("sample %d, %s: %v\ninput %s", i, fn, err, in)
			}
		}
	}
}

func TestSampleRefundMatchesOrder(t *testing.T) {
	t.Parallel()
	o := decodeOrder(t, workflows.SampleOrder(3))
	var r refund.Request
	if err := json.Unmarshal(workflows.SampleRefund(3), &r); err != nil {
		t.Fatal(err)
	}
	if r.OrderID != o.OrderID || r.ChargeID != order.ChargeIDFor(o.OrderID) || r.Items[0].SKU != o.Items[0].SKU {
		t.Errorf("refund %+v does not refer to order %+v", r, o)
	}
}
