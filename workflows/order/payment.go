package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// ErrCardDeclined is wrapped by the charge step's decline failure.
var ErrCardDeclined = errors.New("card declined")

// ChargeInput is the charge step's input: the order plus what the parallel
// checks before it found (mapped by the definition's input expression).
type ChargeInput struct {
	Order         Order  `json:"order"`
	ReservationID string `json:"reservationId"`
	RiskScore     int    `json:"riskScore"`
}

// Charge is the charge step's output.
type Charge struct {
	ChargeID    string `json:"chargeId"`
	AmountCents int64  `json:"amountCents"`
	Currency    string `json:"currency"`
	CardLast4   string `json:"cardLast4"`
}

// ChargePayment charges the order total to the customer's card. The test
// card CardDeclined is declined: a terminal failure (kind "card-declined")
// that sends the run to review. The charge id is derived from the order, so
// a retried charge reaches the payment provider with the same id and is not
// taken twice. On success it patches state with {"paymentStatus":"charged"}
// and emails the customer the "order-charged" template.
func ChargePayment(ctx context.Context, in ChargeInput) (Charge, error) {
	o := in.Order
	card := o.Payment.CardNumber
	if card == CardDeclined {
		err := fmt.Errorf("order %s: %w by issuer (card ending %s)", o.OrderID, ErrCardDeclined, last4(card))
		return Charge{}, step.Terminal(step.Kind("card-declined", err))
	}
	c := Charge{
		ChargeID:    ChargeIDFor(o.OrderID),
		AmountCents: o.TotalCents(),
		Currency:    o.CurrencyCode(),
		CardLast4:   last4(card),
	}
	if c.AmountCents <= 0 {
		return Charge{}, step.Errorf("order %s: nothing to charge", o.OrderID)
	}
	if err := oms.SetState(ctx, map[string]any{"paymentStatus": "charged", "chargeId": c.ChargeID}); err != nil {
		return Charge{}, err
	}
	err := oms.Email(ctx, o.Customer.Email, "order-charged", o.OrderID, map[string]any{
		"chargeId": c.ChargeID,
		"amount":   oms.FormatCents(c.AmountCents, c.Currency),
		"card":     "•••• " + c.CardLast4,
	})
	return c, err
}

func last4(card string) string {
	if len(card) < 4 {
		return card
	}
	return card[len(card)-4:]
}

// ChargeIDFor is the charge id ChargePayment gives the order orderID.
func ChargeIDFor(orderID string) string { return oms.ID("ch", orderID) }
