package returns

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
	"github.com/ordoflow/ordo/workflows/refund"
)

// Conditions an item can come back in.
const (
	ConditionUnopened = "unopened"
	ConditionOpened   = "opened"
	ConditionDamaged  = "damaged"
)

// ErrInvalid is wrapped by every authorization failure.
var ErrInvalid = errors.New("invalid return request")

// Request is the return workflow's input.
type Request struct {
	ReturnID string          `json:"returnId"`
	OrderID  string          `json:"orderId"`
	ChargeID string          `json:"chargeId"`
	Customer refund.Customer `json:"customer"`
	// Reason is one of refund.Reasons.
	Reason   string `json:"reason"`
	Currency string `json:"currency,omitempty"`
	Items    []Item `json:"items"`
}

// Item is one returned line: a refund line plus the condition it comes back
// in (empty: "opened").
type Item struct {
	refund.Line
	Condition string `json:"condition,omitempty"`
}

func (r Request) currency() string {
	if r.Currency == "" {
		return "USD"
	}
	return r.Currency
}

// Authorization is the authorize step's output: the RMA and the prepaid
// return label.
type Authorization struct {
	RMA   string `json:"rma"`
	Label Label  `json:"label"`
}

// Label is a prepaid return shipping label.
type Label struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"trackingNumber"`
}

// Authorize checks a return request and issues an RMA number and a prepaid
// label, both derived from the return id. Malformed requests (kind
// "invalid-return") and digital lines (kind "not-returnable") fail
// terminally. It emails the customer the "return-authorized" template and
// patches state with {"status":"authorized","rma":...}.
func Authorize(ctx context.Context, r Request) (Authorization, error) {
	p := refund.ConcessionProblems("returnId", r.ReturnID, r.OrderID, r.ChargeID, r.Customer.Email, r.Reason)
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	lines := make([]refund.Line, len(r.Items))
	var digital []string
	for i, it := range r.Items {
		lines[i] = it.Line
		switch it.Condition {
		case "", ConditionUnopened, ConditionOpened, ConditionDamaged:
		default:
			add("item %d: unknown condition %q", i+1, it.Condition)
		}
		if it.Digital {
			digital = append(digital, it.SKU)
		}
	}
	p = append(p, refund.LineProblems(lines)...)
	if len(p) > 0 {
		err := fmt.Errorf("%w %q: %s", ErrInvalid, r.ReturnID, strings.Join(p, "; "))
		return Authorization{}, step.Terminal(step.Kind("invalid-return", err))
	}
	if len(digital) > 0 {
		err := fmt.Errorf("return %s: digital items cannot be returned: %s", r.ReturnID, strings.Join(digital, ", "))
		return Authorization{}, step.Terminal(step.Kind("not-returnable", err))
	}
	a := Authorization{
		RMA:   "RMA-" + oms.Digits(8, "rma", r.ReturnID),
		Label: Label{Carrier: "UPS", TrackingNumber: "1Z" + oms.Digits(16, "label", r.ReturnID)},
	}
	if err := oms.SetState(ctx, map[string]any{"status": "authorized", "rma": a.RMA}); err != nil {
		return Authorization{}, err
	}
	err := oms.Email(ctx, r.Customer.Email, "return-authorized", r.OrderID, map[string]any{
		"returnId": r.ReturnID, "rma": a.RMA, "carrier": a.Label.Carrier, "trackingNumber": a.Label.TrackingNumber,
	})
	return a, err
}

// InspectInput is the inspect step's input.
type InspectInput struct {
	Request Request `json:"request"`
	RMA     string  `json:"rma"`
}

// Inspection is the inspect step's output.
type Inspection struct {
	RMA   string          `json:"rma"`
	Lines []InspectedLine `json:"lines"`
	// Accepted counts the lines with something to refund.
	Accepted int `json:"accepted"`
}

// InspectedLine is the grade of one returned line.
type InspectedLine struct {
	refund.Line
	Condition string `json:"condition"`
	// RefundPercent is the share of the line's price refunded: 100, 85
	// (restocking fee) or 0 (rejected).
	RefundPercent int    `json:"refundPercent"`
	Note          string `json:"note"`
}

// Inspect grades each returned line:
//
//	condition  fault of ours (damaged, defective, ...)  changed mind
//	---------  ---------------------------------------  ------------
//	unopened   100%                                     100%
//	opened     100%                                     100% less the restocking fee
//	damaged    100%                                     0% (rejected)
//
// It patches state with {"status":"inspected"}.
func Inspect(ctx context.Context, in InspectInput) (Inspection, error) {
	r := in.Request
	out := Inspection{RMA: in.RMA, Lines: make([]InspectedLine, 0, len(r.Items))}
	ourFault := r.Reason != refund.ReasonChangedMind
	for _, it := range r.Items {
		l := InspectedLine{Line: it.Line, Condition: it.Condition, RefundPercent: 100}
		if l.Condition == "" {
			l.Condition = ConditionOpened
		}
		switch {
		case ourFault:
			l.Note = "fault confirmed: full refund"
		case l.Condition == ConditionUnopened:
			l.Note = "unopened: full refund"
		case l.Condition == ConditionOpened:
			l.RefundPercent = 100 - refund.RestockingFeePercent
			l.Note = "opened: restocking fee applies"
		default:
			l.RefundPercent = 0
			l.Note = "damaged after delivery: rejected"
		}
		if l.RefundPercent > 0 {
			out.Accepted++
		}
		out.Lines = append(out.Lines, l)
	}
	if err := oms.SetState(ctx, map[string]any{"status": "inspected"}); err != nil {
		return Inspection{}, err
	}
	return out, nil
}

// RefundInput is the refund step's input.
type RefundInput struct {
	Request    Request    `json:"request"`
	Inspection Inspection `json:"inspection"`
}

// RefundInspected refunds the inspected lines: each line's price times its
// refund percentage (rounded half up), to the original charge, under a
// transaction id derived from the return id (refund.TxID), so a retry never
// refunds twice. Nothing accepted refunds nothing (status
// "nothing-to-refund"). It patches state with {"refundStatus": status}.
func RefundInspected(ctx context.Context, in RefundInput) (refund.Issued, error) {
	var amount int64
	for _, l := range in.Inspection.Lines {
		full := refund.Compute([]refund.Line{l.Line}, refund.ReasonDamaged).AmountCents
		amount += (full*int64(l.RefundPercent) + 50) / 100
	}
	r := in.Request
	out, err := refund.Issue(r.ReturnID, r.ChargeID, amount, r.currency())
	if err != nil {
		return refund.Issued{}, err
	}
	if err := oms.SetState(ctx, map[string]any{"refundStatus": out.Status, "refundTxId": out.RefundTxID}); err != nil {
		return refund.Issued{}, err
	}
	return out, nil
}

// NotifyInput is the notify step's input.
type NotifyInput struct {
	Request Request       `json:"request"`
	RMA     string        `json:"rma"`
	Refund  refund.Issued `json:"refund"`
}

// Notify emails the customer the "return-refunded" template (or
// "return-rejected" when nothing was refunded), publishes ReturnRefunded on
// "order-events" when money moved, and patches state with
// {"status":"completed"}.
func Notify(ctx context.Context, in NotifyInput) (refund.Notice, error) {
	r, ref := in.Request, in.Refund
	n := refund.Notice{Template: "return-refunded", To: r.Customer.Email}
	if ref.Status != refund.StatusIssued {
		n.Template = "return-rejected"
	}
	if err := oms.Email(ctx, n.To, n.Template, r.OrderID, map[string]any{
		"returnId": r.ReturnID, "rma": in.RMA, "amount": oms.FormatCents(ref.AmountCents, ref.Currency),
	}); err != nil {
		return refund.Notice{}, err
	}
	if ref.Status == refund.StatusIssued {
		if err := oms.Publish(ctx, oms.TopicOrderEvents, "ReturnRefunded", r.OrderID, map[string]any{
			"returnId": r.ReturnID, "rma": in.RMA, "refundTxId": ref.RefundTxID, "amountCents": ref.AmountCents, "currency": ref.Currency,
		}); err != nil {
			return refund.Notice{}, err
		}
	}
	if err := oms.SetState(ctx, map[string]any{"status": "completed"}); err != nil {
		return refund.Notice{}, err
	}
	return n, nil
}
