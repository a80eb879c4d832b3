package order_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
	"github.com/ordoflow/ordo/workflows/order"
)

// call runs the registered function fn once, as the orchestrator would.
func call(t *testing.T, fn string, input any, attempt int) (step.Result, error) {
	t.Helper()
	reg := step.NewRegistry()
	order.Register(reg)
	h, ok := reg.Lookup(fn)
	if !ok {
		t.Fatalf("function %q is not registered", fn)
	}
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	return h.Handle(context.Background(), step.Request{
		Workflow: order.Name, Run: "run-1", Step: fn, Function: fn,
		Attempt: attempt, IdempotencyKey: "run-1/" + fn, Input: raw,
	})
}

// mustCall is call for a step that must succeed; it decodes the output
// into out.
func mustCall(t *testing.T, fn string, input any, attempt int, out any) step.Result {
	t.Helper()
	res, err := call(t, fn, input, attempt)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	if err := json.Unmarshal(res.Output, out); err != nil {
		t.Fatalf("%s: decode output %s: %v", fn, res.Output, err)
	}
	return res
}

func state(t *testing.T, res step.Result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.State, &m); err != nil {
		t.Fatalf("state patch %s: %v", res.State, err)
	}
	return m
}

func kindOf(err error) string { return step.FailureOf(err).Kind }

func baseOrder() order.Order {
	return order.Order{
		OrderID:  "ord-1001",
		Customer: order.Customer{ID: "cus-7", Name: "Ada Lovelace", Email: "ada@example.com"},
		Items: []order.Item{
			{SKU: "TV-55-OLED", Name: "55in OLED TV", Qty: 1, UnitPriceCents: 129_900},
			{SKU: "HDMI-2M", Name: "HDMI cable", Qty: 2, UnitPriceCents: 1_250},
		},
		Shipping: &order.Address{Line1: "221 River St", City: "Hoboken", Region: "NJ", PostalCode: "07030", Country: "US"},
		Payment:  order.Payment{CardNumber: order.CardOK, Country: "US"},
	}
}

func withItems(o order.Order, items ...order.Item) order.Order {
	o.Items = items
	return o
}

var appleCare = order.Item{SKU: "AC-IPHONE-2Y", Name: "AppleCare+ for iPhone", Qty: 1, UnitPriceCents: 19_900}

func TestVerify(t *testing.T) {
	t.Parallel()
	var v order.Verification
	res := mustCall(t, order.FnVerify, baseOrder(), 1, &v)
	want := order.Verification{OrderID: "ord-1001", TotalCents: 132_400, Currency: "USD", ItemCount: 3, HasPhysical: true, DigitalSKUs: []string{}}
	if diff := cmp.Diff(v, want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
	if got := state(t, res)["status"]; got != "verified" {
		t.Errorf("state status = %v, want verified", got)
	}

	digital := withItems(baseOrder(), appleCare, order.Item{SKU: "EBOOK-1", Qty: 1, UnitPriceCents: 999, Digital: true})
	digital.Shipping = nil // nothing ships, so no address is needed
	mustCall(t, order.FnVerify, digital, 1, &v)
	if !v.HasDigital || v.HasPhysical || !cmp.Equal(v.DigitalSKUs, []string{"AC-IPHONE-2Y", "EBOOK-1"}) {
		t.Errorf("digital order: got %+v", v)
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*order.Order)
		want string // in the error message
	}{
		{"no order id", func(o *order.Order) { o.OrderID = "" }, "missing orderId"},
		{"bad email", func(o *order.Order) { o.Customer.Email = "ada.example.com" }, "invalid customer email"},
		{"no customer", func(o *order.Order) { o.Customer.ID = "" }, "missing customer id"},
		{"no items", func(o *order.Order) { o.Items = nil }, "no items"},
		{"zero quantity", func(o *order.Order) { o.Items[0].Qty = 0 }, "item 1: quantity 0 out of range"},
		{"huge quantity", func(o *order.Order) { o.Items[1].Qty = 1000 }, "item 2: quantity 1000 out of range"},
		{"negative price", func(o *order.Order) { o.Items[0].UnitPriceCents = -1 }, "item 1: negative price"},
		{"free order", func(o *order.Order) { o.Items[0].UnitPriceCents, o.Items[1].UnitPriceCents = 0, 0 }, "total must be positive"},
		{"missing sku", func(o *order.Order) { o.Items[1].SKU = " " }, "item 2: missing sku"},
		{"duplicate sku", func(o *order.Order) { o.Items[1].SKU = o.Items[0].SKU }, "appears twice"},
		{"no address", func(o *order.Order) { o.Shipping = nil }, "missing shipping address"},
		{"no city", func(o *order.Order) { o.Shipping.City = "" }, "missing city"},
		{"bad country", func(o *order.Order) { o.Shipping.Country = "usa" }, "invalid country"},
		{"bad card", func(o *order.Order) { o.Payment.CardNumber = "4242424242424241" }, "invalid card number"},
		{"bad currency", func(o *order.Order) { o.Currency = "dollars" }, "invalid currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := baseOrder()
			o.Items = append([]order.Item(nil), o.Items...)
			addr := *o.Shipping
			o.Shipping = &addr
			tt.edit(&o)
			_, err := call(t, order.FnVerify, o, 1)
			if !step.IsTerminal(err) || !errors.Is(err, order.ErrMalformed) {
				t.Fatalf("err = %v, want a terminal ErrMalformed", err)
			}
			if got := kindOf(err); got != "malformed-order" {
				t.Errorf("kind = %q, want malformed-order", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestVerifyUndecodableInput(t *testing.T) {
	t.Parallel()
	_, err := call(t, order.FnVerify, map[string]any{"items": "not a list"}, 1)
	if !step.IsTerminal(err) {
		t.Fatalf("err = %v, want terminal", err)
	}
}

func TestFraudCheck(t *testing.T) {
	t.Parallel()
	var r order.Risk
	res := mustCall(t, order.FnFraud, baseOrder(), 1, &r)
	if r.Decision != "approve" || r.Score != 20 {
		t.Errorf("risk = %+v, want approve with score 20", r)
	}
	if diff := cmp.Diff(state(t, res), map[string]any{"risk": map[string]any{"score": 20.0}}); diff != "" {
		t.Errorf("state (-got +want):\n%s", diff)
	}

	tests := []struct {
		name string
		edit func(*order.Order)
	}{
		{"blocked domain", func(o *order.Order) { o.Customer.Email = "eve@fraud.example" }},
		{"disposable mail, foreign card, big order", func(o *order.Order) {
			o.Customer.Email = "eve@mailinator.com"
			o.Payment.Country = "RU"
			o.Items[0].Qty = 4
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := baseOrder()
			o.Items = append([]order.Item(nil), o.Items...)
			tt.edit(&o)
			_, err := call(t, order.FnFraud, o, 1)
			if !step.IsTerminal(err) || kindOf(err) != "fraud-suspected" {
				t.Fatalf("err = %v (kind %q), want terminal fraud-suspected", err, kindOf(err))
			}
		})
	}
}

func TestReserveInventory(t *testing.T) {
	t.Parallel()
	var r order.Reservation
	res := mustCall(t, order.FnReserve, baseOrder(), 1, &r)
	if r.ReservationID == "" || len(r.Lines) != 2 || r.Lines[0].Warehouse != order.PrimaryWarehouse {
		t.Errorf("reservation = %+v", r)
	}
	if _, ok := state(t, res)["reservation"]; !ok {
		t.Errorf("state %s has no reservation", res.State)
	}

	// Reserving is idempotent: a second call reserves under the same id.
	var again order.Reservation
	mustCall(t, order.FnReserve, baseOrder(), 2, &again)
	if diff := cmp.Diff(again, r); diff != "" {
		t.Errorf("second reservation (-got +want):\n%s", diff)
	}

	digitalOnly := withItems(baseOrder(), appleCare)
	mustCall(t, order.FnReserve, digitalOnly, 1, &r)
	if r.ReservationID != "" || len(r.Lines) != 0 {
		t.Errorf("digital-only reservation = %+v, want none", r)
	}
}

func TestReserveInventoryShortage(t *testing.T) {
	t.Parallel()
	o := withItems(baseOrder(), baseOrder().Items[0], order.Item{SKU: "LOW-SOUNDBAR", Qty: 1, UnitPriceCents: 29_900})

	_, err := call(t, order.FnReserve, o, 1)
	if err == nil || step.IsTerminal(err) {
		t.Fatalf("attempt 1: err = %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "LOW-SOUNDBAR") {
		t.Errorf("attempt 1: err = %q, want it to name the short SKU", err)
	}

	for _, attempt := range []int{2, 3} {
		var r order.Reservation
		mustCall(t, order.FnReserve, o, attempt, &r)
		want := []order.ReservationLine{
			{SKU: "TV-55-OLED", Qty: 1, Warehouse: order.PrimaryWarehouse},
			{SKU: "LOW-SOUNDBAR", Qty: 1, Warehouse: order.SecondaryWarehouse},
		}
		if diff := cmp.Diff(r.Lines, want); diff != "" {
			t.Errorf("attempt %d: lines (-got +want):\n%s", attempt, diff)
		}
	}
}

func TestReserveInventoryOutOfStock(t *testing.T) {
	t.Parallel()
	o := withItems(baseOrder(), order.Item{SKU: "OOS-GPU", Qty: 1, UnitPriceCents: 99_900})
	_, err := call(t, order.FnReserve, o, 1)
	if !step.IsTerminal(err) || kindOf(err) != "out-of-stock" {
		t.Fatalf("err = %v (kind %q), want terminal out-of-stock", err, kindOf(err))
	}
}

func TestChargePayment(t *testing.T) {
	t.Parallel()
	in := order.ChargeInput{Order: baseOrder(), ReservationID: "res_1", RiskScore: 20}
	var c order.Charge
	res := mustCall(t, order.FnCharge, in, 1, &c)
	if !strings.HasPrefix(c.ChargeID, "ch_") || c.AmountCents != 132_400 || c.CardLast4 != "4242" {
		t.Errorf("charge = %+v", c)
	}
	if diff := cmp.Diff(state(t, res), map[string]any{"paymentStatus": "charged", "chargeId": c.ChargeID}); diff != "" {
		t.Errorf("state (-got +want):\n%s", diff)
	}
	if len(res.Effects) != 1 {
		t.Fatalf("effects = %+v, want one email", res.Effects)
	}
	e := res.Effects[0]
	var p oms.EmailPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if e.Kind != "email" || e.Target != "ada@example.com" || p.Template != "order-charged" || p.OrderID != "ord-1001" {
		t.Errorf("effect = %+v, payload %+v", e, p)
	}
	if strings.Contains(string(res.Output)+string(e.Payload), order.CardOK) {
		t.Error("the full card number leaked into the output or the email")
	}

	// A retried charge carries the same id: the provider de-duplicates it.
	var again order.Charge
	mustCall(t, order.FnCharge, in, 2, &again)
	if again.ChargeID != c.ChargeID {
		t.Errorf("retried charge id %q, want %q", again.ChargeID, c.ChargeID)
	}
}

func TestChargePaymentDeclined(t *testing.T) {
	t.Parallel()
	o := baseOrder()
	o.Payment.CardNumber = order.CardDeclined
	res, err := call(t, order.FnCharge, order.ChargeInput{Order: o}, 1)
	if !step.IsTerminal(err) || !errors.Is(err, order.ErrCardDeclined) || kindOf(err) != "card-declined" {
		t.Fatalf("err = %v (kind %q), want terminal ErrCardDeclined", err, kindOf(err))
	}
	if len(res.Effects) != 0 {
		t.Errorf("a declined charge emitted %+v", res.Effects)
	}
	if strings.Contains(err.Error(), order.CardDeclined) {
		t.Errorf("error %q leaks the card number", err)
	}
}

func TestIssueWarranty(t *testing.T) {
	t.Parallel()
	o := withItems(baseOrder(), baseOrder().Items[0], appleCare, order.Item{SKU: "EBOOK-1", Qty: 2, UnitPriceCents: 999, Digital: true})
	var w order.Warranties
	res := mustCall(t, order.FnWarranty, order.WarrantyInput{Order: o, ChargeID: "ch_1"}, 1, &w)
	if len(w.Warranties) != 2 {
		t.Fatalf("warranties = %+v, want 2", w.Warranties)
	}
	if w.Warranties[0].SKU != "AC-IPHONE-2Y" || w.Warranties[0].Months != 24 || w.Warranties[1].Months != 12 || w.Warranties[1].Units != 2 {
		t.Errorf("warranties = %+v", w.Warranties)
	}
	if len(res.Effects) != 1 || res.Effects[0].Kind != "email" {
		t.Errorf("effects = %+v, want one email", res.Effects)
	}

	res = mustCall(t, order.FnWarranty, order.WarrantyInput{Order: baseOrder(), ChargeID: "ch_1"}, 1, &w)
	if len(w.Warranties) != 0 || len(res.Effects) != 0 || res.State != nil {
		t.Errorf("no digital items: got %+v, effects %+v, state %s", w, res.Effects, res.State)
	}
}

func TestShip(t *testing.T) {
	t.Parallel()
	var s order.Shipment
	res := mustCall(t, order.FnShip, order.ShipInput{Order: baseOrder(), ChargeID: "ch_1", ReservationID: "res_1"}, 1, &s)
	if s.Method != order.MethodGround || s.Carrier != "UPS" || !strings.HasPrefix(s.TrackingNumber, "1Z") || s.Units != 3 {
		t.Errorf("shipment = %+v", s)
	}
	if got := state(t, res)["status"]; got != "shipped" {
		t.Errorf("state status = %v, want shipped", got)
	}
	if len(res.Effects) != 2 {
		t.Fatalf("effects = %+v, want an email and an event", res.Effects)
	}
	mail, pub := res.Effects[0], res.Effects[1]
	if mail.Kind != "email" || mail.Target != "ada@example.com" || !strings.Contains(string(mail.Payload), `"template":"order-shipped"`) {
		t.Errorf("email effect = %+v", mail)
	}
	var ev oms.Event
	if err := json.Unmarshal(pub.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if pub.Kind != "publish" || pub.Target != "order-events" || ev.Type != "OrderShipped" || ev.OrderID != "ord-1001" {
		t.Errorf("publish effect = %+v, event %+v", pub, ev)
	}

	abroad := baseOrder()
	abroad.Shipping = &order.Address{Line1: "1 Rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"}
	mustCall(t, order.FnShip, order.ShipInput{Order: abroad, ChargeID: "ch_1", ReservationID: "res_1"}, 1, &s)
	if s.Carrier != "DHL" {
		t.Errorf("carrier abroad = %q, want DHL", s.Carrier)
	}

	s = order.Shipment{}
	mustCall(t, order.FnShip, order.ShipInput{Order: withItems(baseOrder(), appleCare), ChargeID: "ch_1"}, 1, &s)
	if s.Method != order.MethodDigital || s.TrackingNumber != "" || s.Units != 0 {
		t.Errorf("digital shipment = %+v", s)
	}
}

func TestShipRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   order.ShipInput
	}{
		{"not charged", order.ShipInput{Order: baseOrder(), ReservationID: "res_1"}},
		{"not reserved", order.ShipInput{Order: baseOrder(), ChargeID: "ch_1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := call(t, order.FnShip, tt.in, 1)
			if !step.IsTerminal(err) {
				t.Fatalf("err = %v, want terminal", err)
			}
			if len(res.Effects) != 0 {
				t.Errorf("effects = %+v, want none", res.Effects)
			}
		})
	}
}

func TestRecordHistory(t *testing.T) {
	t.Parallel()
	in := order.HistoryInput{
		OrderID: "ord-1001", CustomerID: "cus-7",
		State: json.RawMessage(`{"status":"shipped","paymentStatus":"charged","chargeId":"ch_1","warranties":["wty_1"],"shipment":{"shipmentId":"shp_1"}}`),
	}
	var h order.HistoryRecord
	res := mustCall(t, order.FnHistory, in, 1, &h)
	want := order.HistoryRecord{
		// Derived from the order id alone (sha256 of "8:ord-1001;"), so a
		// retried or replayed step writes the same record.
		HistoryID: "hist_7cc6fbea906dbe7a", OrderID: "ord-1001", CustomerID: "cus-7", Status: "completed",
		PaymentStatus: "charged", ChargeID: "ch_1", ShipmentID: "shp_1", Warranties: []string{"wty_1"},
	}
	if diff := cmp.Diff(h, want); diff != "" {
		t.Errorf("record (-got +want):\n%s", diff)
	}
	if got := state(t, res)["status"]; got != "completed" {
		t.Errorf("state status = %v, want completed", got)
	}

	_, err := call(t, order.FnHistory, map[string]any{"orderId": "ord-1", "state": []int{1}}, 1)
	if !step.IsTerminal(err) {
		t.Errorf("undecodable state: err = %v, want terminal", err)
	}
}
