package workflows

import (
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/workflows/order"
	"github.com/ordoflow/ordo/workflows/refund"
	returns "github.com/ordoflow/ordo/workflows/return"
)

// How often SampleTraffic produces each kind of run (the i-th run with
// i%N == N-1; the first match wins).
const (
	TrafficProblemEvery = 9 // a problem input (see SampleProblem)
	TrafficRefundEvery  = 4 // a refund of SampleOrder(i)
	TrafficReturnEvery  = 6 // a return of SampleOrder(i)
)

// SampleTraffic returns the i-th run of a day's mixed OMS traffic: mostly
// orders (SampleOrder), refunds and returns of them, and the share of
// problem inputs production sees (SampleProblem). The same i always gives
// the same workflow and input.
func SampleTraffic(i int) (workflowName string, input json.RawMessage) {
	switch {
	case mod(i, TrafficProblemEvery) == TrafficProblemEvery-1:
		return SampleProblem(i / TrafficProblemEvery)
	case mod(i, TrafficRefundEvery) == TrafficRefundEvery-1:
		return refund.Name, SampleRefund(i)
	case mod(i, TrafficReturnEvery) == TrafficReturnEvery-1:
		return returns.Name, SampleReturn(i)
	}
	return order.Name, SampleOrder(i)
}

// SampleProblem returns the i-th of the problem inputs the OMS steps are
// built to catch or route, in turn: an order from a fraud-test domain, one
// with an out-of-stock SKU, a malformed order, a malformed refund, a
// malformed return, a return of a digital line, plus the unusual but valid
// cases: a digital-only order and a large order shipped abroad on a US
// card. Ids are
// "bad-%06d" so they never collide with the samples'.
func SampleProblem(i int) (workflowName string, input json.RawMessage) {
	id := fmt.Sprintf("bad-%06d", i)
	o := sampleOrder(i)
	o.OrderID = id
	switch mod(i, 8) {
	case 0:
		o.Customer.Email = "mallory@fraud.example"
	case 1:
		o.Items = append(o.Items, order.Item{SKU: "OOS-CONSOLE", Name: "Game console (sold out)", Qty: 1, UnitPriceCents: 49_900})
	case 2:
		o.Customer = order.Customer{Email: "not-an-email"}
		o.Currency = "usd"
		o.Items = append(o.Items, o.Items[0], order.Item{Qty: 0, UnitPriceCents: -1})
		o.Shipping = &order.Address{Country: "usa"}
		o.Payment.CardNumber = "4242424242424241"
	case 3:
		return refund.Name, mustJSON(refund.Request{RefundID: id, OrderID: id, Reason: "bored",
			Customer: refund.Customer{Email: "nobody"}, Items: []refund.Line{{Qty: 0, UnitPriceCents: -5}}})
	case 4:
		return returns.Name, mustJSON(returns.Request{ReturnID: id, OrderID: o.OrderID, Reason: "whim",
			Customer: refund.Customer{Email: o.Customer.Email},
			Items:    []returns.Item{{Line: refund.Line{SKU: "TV-55-OLED", Qty: 1, UnitPriceCents: 129_900}, Condition: "soggy"}}})
	case 5:
		var r returns.Request
		_ = json.Unmarshal(SampleReturn(i), &r)
		r.ReturnID, r.OrderID = id, id
		r.Items = append(r.Items, returns.Item{Line: refund.Line{SKU: "EWARRANTY-TV-2Y", Qty: 1, UnitPriceCents: 9_900, Digital: true}})
		return returns.Name, mustJSON(r)
	case 6:
		o.Items = []order.Item{{SKU: "AC-LAPTOP-3Y", Name: "AppleCare-style protection, 3 years", Qty: 1, UnitPriceCents: 27_900}}
		o.Shipping = nil
		o.Currency = ""
	case 7:
		o.Shipping = &order.Address{Line1: "Unter den Linden 1", City: "Berlin", PostalCode: "10117", Country: "DE"}
		o.Items = []order.Item{{SKU: "TV-55-OLED", Name: "55in OLED TV", Qty: 4, UnitPriceCents: 129_900}}
	}
	return order.Name, mustJSON(o)
}
