package order

import (
	"context"
	"strings"

	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// WarrantyInput is the warranty step's input.
type WarrantyInput struct {
	Order    Order  `json:"order"`
	ChargeID string `json:"chargeId"`
}

// Warranties is the warranty step's output.
type Warranties struct {
	Warranties []Warranty `json:"warranties"`
}

// Warranty is one registered warranty or digital licence.
type Warranty struct {
	WarrantyID string `json:"warrantyId"`
	SKU        string `json:"sku"`
	Units      int    `json:"units"`
	// Months is the coverage: 24 for AppleCare-like SKUs, 12 otherwise.
	Months int `json:"months"`
}

// IssueWarranty registers a warranty (or licence) for each digital line of
// a charged order and emails the customer the "warranty-issued" template.
// The definition runs it only for orders with digital SKUs; called for an
// order without any it registers nothing. It patches state with
// {"warranties": [...ids]}.
func IssueWarranty(ctx context.Context, in WarrantyInput) (Warranties, error) {
	o := in.Order
	out := Warranties{Warranties: []Warranty{}}
	ids := []string{}
	for _, it := range o.digital() {
		months := 12
		if strings.HasPrefix(it.SKU, PrefixAppleCare) {
			months = 24
		}
		w := Warranty{WarrantyID: oms.ID("wty", o.OrderID, it.SKU), SKU: it.SKU, Units: it.Qty, Months: months}
		out.Warranties = append(out.Warranties, w)
		ids = append(ids, w.WarrantyID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	if err := oms.SetState(ctx, map[string]any{"warranties": ids}); err != nil {
		return Warranties{}, err
	}
	err := oms.Email(ctx, o.Customer.Email, "warranty-issued", o.OrderID, map[string]any{
		"chargeId":   in.ChargeID,
		"warranties": out.Warranties,
	})
	return out, err
}
