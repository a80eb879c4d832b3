package refund

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// Reasons a refund may be asked for.
const (
	ReasonDamaged        = "damaged"          // arrived damaged
	ReasonDefective      = "defective"        // stopped working
	ReasonNotAsDescribed = "not-as-described" // wrong or misdescribed item
	ReasonLateDelivery   = "late-delivery"    // arrived after the promised date
	ReasonChangedMind    = "changed-mind"     // nothing wrong with it
	RestockingFeePercent = 15                 // of physical goods, when the customer changed their mind
)

// Reasons lists every accepted reason.
var Reasons = []string{ReasonDamaged, ReasonDefective, ReasonNotAsDescribed, ReasonLateDelivery, ReasonChangedMind}

// ErrInvalid is wrapped by every validation failure.
var ErrInvalid = errors.New("invalid refund request")

// Request is the refund workflow's input.
type Request struct {
	RefundID string `json:"refundId"`
	OrderID  string `json:"orderId"`
	// ChargeID is the order's charge the money goes back to.
	ChargeID string   `json:"chargeId"`
	Customer Customer `json:"customer"`
	Reason   string   `json:"reason"`
	Currency string   `json:"currency,omitempty"`
	Items    []Line   `json:"items"`
}

// Customer is who receives the refund.
type Customer struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Line is one refunded order line.
type Line struct {
	SKU            string `json:"sku"`
	Qty            int    `json:"qty"`
	UnitPriceCents int64  `json:"unitPriceCents"`
	Digital        bool   `json:"digital,omitempty"`
}

// CurrencyCode is the request's currency, "USD" when unset.
func (r Request) CurrencyCode() string {
	if r.Currency == "" {
		return "USD"
	}
	return r.Currency
}

// Validation is the validate step's output.
type Validation struct {
	RefundID string `json:"refundId"`
	OrderID  string `json:"orderId"`
	Lines    int    `json:"lines"`
}

// ConcessionProblems lists what is wrong with the fields every concession
// (refund, return) carries: its own id (named idField), the order, the
// charge to refund, the customer's email and a known reason.
func ConcessionProblems(idField, id, orderID, chargeID, email, reason string) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if id == "" {
		add("missing %s", idField)
	}
	if orderID == "" {
		add("missing orderId")
	}
	if chargeID == "" {
		add("missing chargeId")
	}
	if !oms.ValidEmail(email) {
		add("invalid customer email %q", email)
	}
	if !known(reason) {
		add("unknown reason %q (want one of %s)", reason, strings.Join(Reasons, ", "))
	}
	return p
}

// Validate checks a refund request: ids, the charge to refund, the
// customer's email, a known reason and well-formed lines. A malformed
// request fails terminally (kind "invalid-refund").
func Validate(ctx context.Context, r Request) (Validation, error) {
	p := ConcessionProblems("refundId", r.RefundID, r.OrderID, r.ChargeID, r.Customer.Email, r.Reason)
	p = append(p, LineProblems(r.Items)...)
	if len(p) > 0 {
		err := fmt.Errorf("%w %q: %s", ErrInvalid, r.RefundID, strings.Join(p, "; "))
		return Validation{}, step.Terminal(step.Kind("invalid-refund", err))
	}
	if err := oms.SetState(ctx, map[string]any{"status": "validated"}); err != nil {
		return Validation{}, err
	}
	return Validation{RefundID: r.RefundID, OrderID: r.OrderID, Lines: len(r.Items)}, nil
}

// LineProblems describes what is wrong with lines (nothing: nil).
func LineProblems(lines []Line) []string {
	var p []string
	if len(lines) == 0 {
		p = append(p, "no items")
	}
	for i, l := range lines {
		if l.SKU == "" {
			p = append(p, fmt.Sprintf("item %d: missing sku", i+1))
		}
		if l.Qty < 1 {
			p = append(p, fmt.Sprintf("item %d: quantity %d must be positive", i+1, l.Qty))
		}
		if l.UnitPriceCents < 0 {
			p = append(p, fmt.Sprintf("item %d: negative price", i+1))
		}
	}
	return p
}

func known(reason string) bool {
	for _, r := range Reasons {
		if r == reason {
			return true
		}
	}
	return false
}

// Quote is the compute step's output: what the refund is worth.
type Quote struct {
	SubtotalCents      int64  `json:"subtotalCents"`
	RestockingFeeCents int64  `json:"restockingFeeCents"`
	AmountCents        int64  `json:"amountCents"`
	Currency           string `json:"currency"`
}

// Compute prices the refund of lines for reason: the full price, less a
// RestockingFeePercent fee (rounded half up) on physical goods when the
// customer changed their mind. Digital goods never carry the fee.
func Compute(lines []Line, reason string) Quote {
	var q Quote
	var physical int64
	for _, l := range lines {
		amt := int64(l.Qty) * l.UnitPriceCents
		q.SubtotalCents += amt
		if !l.Digital {
			physical += amt
		}
	}
	if reason == ReasonChangedMind {
		q.RestockingFeeCents = (physical*RestockingFeePercent + 50) / 100
	}
	q.AmountCents = q.SubtotalCents - q.RestockingFeeCents
	return q
}

// ComputeRefund is the compute step: it prices the request with Compute
// and patches state with {"refund": {"amountCents": n}}.
func ComputeRefund(ctx context.Context, r Request) (Quote, error) {
	q := Compute(r.Items, r.Reason)
	q.Currency = r.CurrencyCode()
	if err := oms.SetState(ctx, map[string]any{"refund": map[string]any{"amountCents": q.AmountCents}}); err != nil {
		return Quote{}, err
	}
	return q, nil
}

// Refund statuses.
const (
	StatusIssued  = "issued"
	StatusNothing = "nothing-to-refund"
)

// IssueInput is the issue step's input: the request and the computed
// amount.
type IssueInput struct {
	Request     Request `json:"request"`
	AmountCents int64   `json:"amountCents"`
}

// Issued is the issue step's output.
type Issued struct {
	RefundTxID  string `json:"refundTxId,omitempty"`
	ChargeID    string `json:"chargeId"`
	AmountCents int64  `json:"amountCents"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
}

// TxID is the payment provider's refund transaction id for a refund (or
// return) id: derived, so a retried refund is de-duplicated by the provider.
func TxID(refundID string) string { return oms.ID("re", refundID) }

// IssueRefund returns the amount to the original charge. A zero amount
// issues nothing (status "nothing-to-refund"); a negative one fails
// terminally. It patches state with {"refundStatus": status}.
func IssueRefund(ctx context.Context, in IssueInput) (Issued, error) {
	out, err := Issue(in.Request.RefundID, in.Request.ChargeID, in.AmountCents, in.Request.CurrencyCode())
	if err != nil {
		return Issued{}, err
	}
	if err := oms.SetState(ctx, map[string]any{"refundStatus": out.Status, "refundTxId": out.RefundTxID}); err != nil {
		return Issued{}, err
	}
	return out, nil
}

// Issue refunds amount (minor units) of charge under refund id id.
func Issue(id, chargeID string, amount int64, currency string) (Issued, error) {
	if amount < 0 {
		return Issued{}, step.Errorf("refund %s: negative amount %d", id, amount)
	}
	out := Issued{ChargeID: chargeID, AmountCents: amount, Currency: currency, Status: StatusNothing}
	if amount > 0 {
		out.RefundTxID, out.Status = TxID(id), StatusIssued
	}
	return out, nil
}

// NotifyInput is the notify step's input.
type NotifyInput struct {
	Request Request `json:"request"`
	Refund  Issued  `json:"refund"`
}

// Notice is the notify step's output.
type Notice struct {
	Template string `json:"template"`
	To       string `json:"to"`
}

// Notify emails the customer the "refund-issued" template (or
// "refund-declined" when nothing was refunded) and publishes RefundIssued on
// "order-events" when money moved. It patches state with
// {"status":"completed"}.
func Notify(ctx context.Context, in NotifyInput) (Notice, error) {
	r, ref := in.Request, in.Refund
	n := Notice{Template: "refund-issued", To: r.Customer.Email}
	if ref.Status != StatusIssued {
		n.Template = "refund-declined"
	}
	if err := oms.Email(ctx, n.To, n.Template, r.OrderID, map[string]any{
		"refundId": r.RefundID,
		"amount":   oms.FormatCents(ref.AmountCents, ref.Currency),
		"reason":   r.Reason,
	}); err != nil {
		return Notice{}, err
	}
	if ref.Status == StatusIssued {
		if err := oms.Publish(ctx, oms.TopicOrderEvents, "RefundIssued", r.OrderID, map[string]any{
			"refundId": r.RefundID, "refundTxId": ref.RefundTxID, "amountCents": ref.AmountCents, "currency": ref.Currency,
		}); err != nil {
			return Notice{}, err
		}
	}
	if err := oms.SetState(ctx, map[string]any{"status": "completed"}); err != nil {
		return Notice{}, err
	}
	return n, nil
}
