package order

import (
	"context"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// Warehouses stock is reserved from.
const (
	PrimaryWarehouse   = "DFW-1"
	SecondaryWarehouse = "ATL-2"
)

// Reservation is the reserve step's output: where each physical line's
// stock is held. An all-digital order reserves nothing (no id, no lines).
type Reservation struct {
	ReservationID string            `json:"reservationId"`
	Lines         []ReservationLine `json:"lines"`
}

// ReservationLine is the stock held for one order line.
type ReservationLine struct {
	SKU       string `json:"sku"`
	Qty       int    `json:"qty"`
	Warehouse string `json:"warehouse"`
}

// ReserveInventory holds stock for the order's physical lines. Stock comes
// from the primary warehouse; a short SKU ("LOW-" prefix) is not there, so
// the first attempt fails retryably while stock is transferred, and a later
// attempt reserves it from the secondary warehouse. An out-of-stock SKU
// ("OOS-" prefix) fails terminally (kind "out-of-stock"). The reservation id
// is derived from the order, so a retry re-reserves under the same id. It
// patches state with {"reservation": {...}}.
func ReserveInventory(ctx context.Context, o Order) (Reservation, error) {
	attempt := oms.Attempt(ctx)
	res := Reservation{Lines: []ReservationLine{}}
	var short []string
	for _, it := range o.physical() {
		wh := PrimaryWarehouse
		switch {
		case strings.HasPrefix(it.SKU, PrefixOutOfStock):
			err := fmt.Errorf("order %s: sku %s is out of stock", o.OrderID, it.SKU)
			return Reservation{}, step.Terminal(step.Kind("out-of-stock", err))
		case strings.HasPrefix(it.SKU, PrefixLowStock):
			if attempt < 2 {
				short = append(short, it.SKU)
			}
			wh = SecondaryWarehouse
		}
		res.Lines = append(res.Lines, ReservationLine{SKU: it.SKU, Qty: it.Qty, Warehouse: wh})
	}
	if len(short) > 0 {
		// Retryable: a transfer from the secondary warehouse is under way.
		return Reservation{}, fmt.Errorf("order %s: insufficient stock at %s for %s (attempt %d); transfer requested",
			o.OrderID, PrimaryWarehouse, strings.Join(short, ", "), attempt)
	}
	if len(res.Lines) > 0 {
		res.ReservationID = oms.ID("res", o.OrderID)
	}
	if err := oms.SetState(ctx, map[string]any{"reservation": res}); err != nil {
		return Reservation{}, err
	}
	return res, nil
}
