package order

import (
	"context"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// RejectScore is the risk score at which an order is rejected.
const RejectScore = 80

// Risk is the fraud step's output.
type Risk struct {
	Score    int      `json:"score"`
	Decision string   `json:"decision"` // "approve" (a rejection is an error)
	Reasons  []string `json:"reasons"`
}

// blockedDomains are email domains the sample rules treat as fraud.
var blockedDomains = map[string]int{
	"fraud.example":     100, // a test domain that is always rejected
	"mailinator.com":    35,  // disposable mailboxes
	"guerrillamail.com": 35,
}

// FraudCheck scores an order's risk with deterministic rules (order value,
// quantities, disposable email domains, card and shipping country
// mismatch). A score of RejectScore or more fails terminally (kind
// "fraud-suspected"): the run goes to manual review. It patches state with
// {"risk": {"score": n}}.
func FraudCheck(ctx context.Context, o Order) (Risk, error) {
	r := Risk{Score: 5, Reasons: []string{}}
	add := func(points int, reason string) {
		r.Score += points
		r.Reasons = append(r.Reasons, reason)
	}
	switch total := o.TotalCents(); {
	case total >= 500_000:
		add(40, "order value over 5000")
	case total >= 100_000:
		add(15, "order value over 1000")
	}
	for _, it := range o.Items {
		if it.Qty >= 20 {
			add(20, fmt.Sprintf("bulk quantity of %s", it.SKU))
			break
		}
	}
	_, domain, _ := strings.Cut(strings.ToLower(o.Customer.Email), "@")
	if pts, ok := blockedDomains[domain]; ok {
		add(pts, "email domain "+domain)
	}
	if o.Payment.Country != "" && o.Shipping != nil && o.Payment.Country != o.Shipping.Country {
		add(25, "card country differs from shipping country")
	}
	if r.Score >= RejectScore {
		err := fmt.Errorf("order %s: fraud suspected (score %d: %s)", o.OrderID, r.Score, strings.Join(r.Reasons, ", "))
		return Risk{}, step.Terminal(step.Kind("fraud-suspected", err))
	}
	r.Decision = "approve"
	if err := oms.SetState(ctx, map[string]any{"risk": map[string]any{"score": r.Score}}); err != nil {
		return Risk{}, err
	}
	return r, nil
}
