// Package workflows is ordo's sample business domain: the order-management
// system (OMS) of an online retailer, after the flows Jet.com ran on its
// workflow engine.
//
//   - order (package order): placement, verification, fraud scoring and
//     inventory reservation in parallel, charging, a warranty for digital
//     SKUs (AppleCare-like "AC-" SKUs), fulfilment and order history.
//   - refund (package refund): a concession refunding lines of a charged
//     order.
//   - return (package returns, directory return): a concession authorizing
//     a return, waiting for the parcel, inspecting and refunding it.
//
// Each workflow is a definition (Go DSL; the order workflow also as YAML)
// plus small single-purpose step functions, registered under persisted
// names by Register. Steps are deterministic: no clocks, no randomness,
// identifiers derived from the input, so retries and replays reproduce the
// same outputs and effects. Side effects are emitted as effects, never
// performed by steps: "email" (target: the customer's address; payload: a
// template and the order id) and "publish" (target "order-events"; payload:
// a domain event such as OrderShipped).
//
// Test data the steps understand:
//
//	what                           behaviour
//	-----------------------------  -----------------------------------------------
//	card 4000000000000002          the charge is declined: terminal, run to review
//	SKU prefix "LOW-"              reserving fails retryably on attempt 1, then succeeds
//	SKU prefix "OOS-"              reserving fails terminally (out of stock)
//	SKU prefix "AC-", digital:true a digital SKU: no stock or shipping; gets a warranty
//	email domain fraud.example     the fraud check rejects the order (terminal)
//
// SampleOrder, SampleRefund and SampleReturn generate deterministic inputs
// for demos and load tests.
package workflows

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/order"
	"github.com/ordoflow/ordo/workflows/refund"
	returns "github.com/ordoflow/ordo/workflows/return"
)

// Register registers every OMS step function in reg under its persisted
// name (order-*, refund-*, return-*). It panics if a name is already
// registered.
func Register(reg *step.Registry) {
	order.Register(reg)
	refund.Register(reg)
	returns.Register(reg)
}

// Definitions builds the OMS workflow definitions (order, refund, return),
// validated against the functions registered in reg.
func Definitions(reg *step.Registry) ([]*workflow.Definition, error) {
	builders := []*workflow.Builder{order.Workflow(), refund.Workflow(), returns.Workflow()}
	defs := make([]*workflow.Definition, 0, len(builders))
	for _, b := range builders {
		d, err := b.Build(workflow.Functions(reg.Has))
		if err != nil {
			return nil, fmt.Errorf("workflows: %w", err)
		}
		defs = append(defs, d)
	}
	return defs, nil
}

// How often SampleOrder produces each special case (the i-th order with
// i%N == N-1).
const (
	SampleDigitalEvery  = 7  // an AppleCare-like digital SKU: the warranty step runs
	SampleShortageEvery = 11 // a "LOW-" SKU: reserving is retried once
	SampleDeclinedEvery = 25 // the declined test card: the run goes to review
)

var (
	sampleCustomers = []order.Customer{
		{ID: "cus-001", Name: "Ada Lovelace", Email: "ada@example.com"},
		{ID: "cus-002", Name: "Alan Turing", Email: "alan@example.org"},
		{ID: "cus-003", Name: "Grace Hopper", Email: "grace@example.net"},
		{ID: "cus-004", Name: "Edsger Dijkstra", Email: "edsger@example.com"},
		{ID: "cus-005", Name: "Barbara Liskov", Email: "barbara@example.org"},
	}
	sampleAddresses = []order.Address{
		{Line1: "221 River St", City: "Hoboken", Region: "NJ", PostalCode: "07030", Country: "US"},
		{Line1: "1600 Amphitheatre Pkwy", City: "Mountain View", Region: "CA", PostalCode: "94043", Country: "US"},
		{Line1: "350 5th Ave", City: "New York", Region: "NY", PostalCode: "10118", Country: "US"},
		{Line1: "500 Boylston St", City: "Boston", Region: "MA", PostalCode: "02116", Country: "US"},
	}
	sampleCatalog = []order.Item{
		{SKU: "TV-55-OLED", Name: "55in OLED TV", UnitPriceCents: 129_900},
		{SKU: "HDMI-2M", Name: "HDMI cable, 2 m", UnitPriceCents: 1_250},
		{SKU: "COFFEE-1KG", Name: "Coffee beans, 1 kg", UnitPriceCents: 2_499},
		{SKU: "KETTLE-STEEL", Name: "Electric kettle", UnitPriceCents: 3_999},
		{SKU: "DIAPERS-XL", Name: "Diapers, size 6, 120 ct", UnitPriceCents: 4_599},
		{SKU: "LAPTOP-14", Name: "14in laptop", UnitPriceCents: 99_900},
		{SKU: "HEADPHONES-NC", Name: "Noise-cancelling headphones", UnitPriceCents: 29_900},
		{SKU: "BLENDER-PRO", Name: "Blender", UnitPriceCents: 8_900},
	}
	sampleDigital = []order.Item{
		{SKU: "AC-LAPTOP-3Y", Name: "AppleCare-style protection, 3 years", UnitPriceCents: 27_900},
		{SKU: "EWARRANTY-TV-2Y", Name: "TV extended warranty, 2 years", UnitPriceCents: 9_900, Digital: true},
	}
	sampleShort = order.Item{SKU: "LOW-SOUNDBAR", Name: "Soundbar (low stock)", UnitPriceCents: 19_900}
)

// mod is i mod n in 0..n-1, for any i.
func mod(i, n int) int { return (i%n + n) % n }

// sampleOrder is the order SampleOrder encodes.
func sampleOrder(i int) order.Order {
	addr := sampleAddresses[mod(i, len(sampleAddresses))]
	o := order.Order{
		OrderID:  fmt.Sprintf("ord-%06d", i),
		Customer: sampleCustomers[mod(i, len(sampleCustomers))],
		Currency: "USD",
		Shipping: &addr,
		Payment:  order.Payment{CardNumber: order.CardOK, Country: "US"},
	}
	lines := 1 + mod(i, 3)
	first := mod(i*5, len(sampleCatalog))
	for k := range lines {
		it := sampleCatalog[(first+k)%len(sampleCatalog)]
		it.Qty = 1 + mod(i+k, 3)
		o.Items = append(o.Items, it)
	}
	if mod(i, SampleDigitalEvery) == SampleDigitalEvery-1 {
		it := sampleDigital[mod(i/SampleDigitalEvery, len(sampleDigital))]
		it.Qty = 1
		o.Items = append(o.Items, it)
	}
	if mod(i, SampleShortageEvery) == SampleShortageEvery-1 {
		it := sampleShort
		it.Qty = 1
		o.Items = append(o.Items, it)
	}
	if mod(i, SampleDeclinedEvery) == SampleDeclinedEvery-1 {
		o.Payment.CardNumber = order.CardDeclined
	}
	return o
}

// SampleOrder returns the i-th sample order (the order workflow's input),
// the same for the same i: one to three ordinary lines shipped within the
// US; every SampleDigitalEvery-th order also holds a digital SKU, every
// SampleShortageEvery-th a short "LOW-" SKU, and every SampleDeclinedEvery-th
// pays with the declined test card. Order ids are "ord-%06d".
func SampleOrder(i int) json.RawMessage {
	return mustJSON(sampleOrder(i))
}

// SampleRefund returns a refund request (the refund workflow's input) for
// the first physical line of SampleOrder(i); every other one is a change of
// mind (with a restocking fee), the rest damaged on arrival.
func SampleRefund(i int) json.RawMessage {
	o := sampleOrder(i)
	it := o.Items[0]
	reason := refund.ReasonDamaged
	if mod(i, 2) == 1 {
		reason = refund.ReasonChangedMind
	}
	return mustJSON(refund.Request{
		RefundID: fmt.Sprintf("rfd-%06d", i),
		OrderID:  o.OrderID,
		ChargeID: chargeID(o),
		Customer: refund.Customer{ID: o.Customer.ID, Email: o.Customer.Email},
		Reason:   reason,
		Currency: o.CurrencyCode(),
		Items:    []refund.Line{{SKU: it.SKU, Qty: 1, UnitPriceCents: it.UnitPriceCents}},
	})
}

// SampleReturn returns a return request (the return workflow's input) for
// the physical lines of SampleOrder(i), each coming back in a condition that
// cycles through unopened, opened and damaged.
func SampleReturn(i int) json.RawMessage {
	o := sampleOrder(i)
	conditions := []string{returns.ConditionUnopened, returns.ConditionOpened, returns.ConditionDamaged}
	r := returns.Request{
		ReturnID: fmt.Sprintf("rtn-%06d", i),
		OrderID:  o.OrderID,
		ChargeID: chargeID(o),
		Customer: refund.Customer{ID: o.Customer.ID, Email: o.Customer.Email},
		Reason:   refund.ReasonChangedMind,
		Currency: o.CurrencyCode(),
	}
	for k, it := range o.Items {
		if it.IsDigital() {
			continue
		}
		r.Items = append(r.Items, returns.Item{
			Line:      refund.Line{SKU: it.SKU, Qty: it.Qty, UnitPriceCents: it.UnitPriceCents},
			Condition: conditions[mod(i+k, len(conditions))],
		})
	}
	return mustJSON(r)
}

// chargeID is the id the order workflow's charge step gives order o.
func chargeID(o order.Order) string {
	return order.ChargeIDFor(o.OrderID)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("workflows: encode sample: %v", err)) // plain structs always encode
	}
	return b
}

// Registrar is what Setup registers definitions with (orchestrator.Engine).
type Registrar interface {
	Register(ctx context.Context, defs ...*workflow.Definition) error
}

// Setup registers every OMS step function in a new registry and every OMS
// definition with r: the wiring each entrypoint (CLI, orchestrator and API
// Lambdas) shares.
func Setup(ctx context.Context, r Registrar) (*step.Registry, error) {
	reg := step.NewRegistry()
	Register(reg)
	defs, err := Definitions(reg)
	if err != nil {
		return nil, err
	}
	if err := r.Register(ctx, defs...); err != nil {
		return nil, fmt.Errorf("workflows: %w", err)
	}
	return reg, nil
}
