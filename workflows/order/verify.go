package order

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// Limits a well-formed order stays within.
const (
	// MaxQty is the most units of one SKU an order line may hold.
	MaxQty = 100
	// MaxLines is the most lines an order may hold.
	MaxLines = 50
)

// ErrMalformed is wrapped by every verification failure.
var ErrMalformed = errors.New("malformed order")

// Verification is the verify step's output.
type Verification struct {
	OrderID     string `json:"orderId"`
	TotalCents  int64  `json:"totalCents"`
	Currency    string `json:"currency"`
	ItemCount   int    `json:"itemCount"`
	HasDigital  bool   `json:"hasDigital"`
	HasPhysical bool   `json:"hasPhysical"`
	// DigitalSKUs lists the digital SKUs (never null).
	DigitalSKUs []string `json:"digitalSkus"`
}

// Verify validates an order: identifiers, customer email, lines (SKU,
// quantity, price), a shipping address when anything ships, and a card
// number that passes the Luhn check. A malformed order cannot be fixed by
// retrying, so every problem fails terminally (kind "malformed-order"),
// listing all of them at once. It patches state with {"status":"verified"}.
func Verify(ctx context.Context, o Order) (Verification, error) {
	if probs := problems(o); len(probs) > 0 {
		err := fmt.Errorf("%w %q: %s", ErrMalformed, o.OrderID, strings.Join(probs, "; "))
		return Verification{}, step.Terminal(step.Kind("malformed-order", err))
	}
	v := Verification{
		OrderID:     o.OrderID,
		TotalCents:  o.TotalCents(),
		Currency:    o.CurrencyCode(),
		DigitalSKUs: []string{},
	}
	for _, it := range o.Items {
		v.ItemCount += it.Qty
		if it.IsDigital() {
			v.HasDigital = true
			v.DigitalSKUs = append(v.DigitalSKUs, it.SKU)
		} else {
			v.HasPhysical = true
		}
	}
	if err := oms.SetState(ctx, map[string]any{"status": "verified", "totalCents": v.TotalCents}); err != nil {
		return Verification{}, err
	}
	return v, nil
}

func problems(o Order) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(o.OrderID) == "" {
		add("missing orderId")
	}
	if o.Customer.ID == "" {
		add("missing customer id")
	}
	if !oms.ValidEmail(o.Customer.Email) {
		add("invalid customer email %q", o.Customer.Email)
	}
	if c := o.Currency; c != "" && (len(c) != 3 || strings.ToUpper(c) != c) {
		add("invalid currency %q", c)
	}
	switch {
	case len(o.Items) == 0:
		add("no items")
	case len(o.Items) > MaxLines:
		add("%d lines, at most %d allowed", len(o.Items), MaxLines)
	}
	seen := map[string]bool{}
	physical := false
	for i, it := range o.Items {
		line := fmt.Sprintf("item %d", i+1)
		switch {
		case strings.TrimSpace(it.SKU) == "":
			add("%s: missing sku", line)
		case seen[it.SKU]:
			add("%s: sku %s appears twice", line, it.SKU)
		}
		seen[it.SKU] = true
		if it.Qty < 1 || it.Qty > MaxQty {
			add("%s: quantity %d out of range 1..%d", line, it.Qty, MaxQty)
		}
		if it.UnitPriceCents < 0 {
			add("%s: negative price", line)
		}
		physical = physical || !it.IsDigital()
	}
	if len(o.Items) > 0 && o.TotalCents() <= 0 {
		add("order total must be positive")
	}
	if physical {
		p = append(p, addressProblems(o.Shipping)...)
	}
	if !luhn(o.Payment.CardNumber) {
		add("invalid card number")
	}
	return p
}

func addressProblems(a *Address) []string {
	if a == nil {
		return []string{"missing shipping address"}
	}
	var p []string
	for _, f := range []struct{ name, v string }{
		{"line1", a.Line1}, {"city", a.City}, {"postalCode", a.PostalCode},
	} {
		if strings.TrimSpace(f.v) == "" {
			p = append(p, "shipping address: missing "+f.name)
		}
	}
	if len(a.Country) != 2 || strings.ToUpper(a.Country) != a.Country {
		p = append(p, fmt.Sprintf("shipping address: invalid country %q", a.Country))
	}
	return p
}

// luhn reports whether number is 12 to 19 digits passing the Luhn checksum.
func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 {
		return false
	}
	sum := 0
	for i := range len(number) {
		c := number[len(number)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
