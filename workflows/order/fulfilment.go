package order

import (
	"context"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// Fulfilment methods.
const (
	MethodGround  = "ground"
	MethodDigital = "digital" // nothing to ship: delivered by email
)

// ShipInput is the ship step's input.
type ShipInput struct {
	Order         Order  `json:"order"`
	ChargeID      string `json:"chargeId"`
	ReservationID string `json:"reservationId"`
}

// Shipment is the ship step's output.
type Shipment struct {
	ShipmentID     string `json:"shipmentId"`
	Method         string `json:"method"`
	Carrier        string `json:"carrier,omitempty"`
	TrackingNumber string `json:"trackingNumber,omitempty"`
	Units          int    `json:"units"`
}

// OrderShipped is the event published when an order ships.
type OrderShipped struct {
	ShipmentID     string `json:"shipmentId"`
	Method         string `json:"method"`
	Carrier        string `json:"carrier,omitempty"`
	TrackingNumber string `json:"trackingNumber,omitempty"`
	ChargeID       string `json:"chargeId"`
}

// Ship hands the reserved physical lines to the carrier (UPS within the US,
// DHL elsewhere); an all-digital order is "shipped" by email. An order that
// was never charged, or has physical lines but no reservation, fails
// terminally: shipping it would give goods away. It emails the customer the
// "order-shipped" template, publishes OrderShipped on "order-events", and
// patches state with {"status":"shipped", "shipment": {...}}.
func Ship(ctx context.Context, in ShipInput) (Shipment, error) {
	o := in.Order
	if in.ChargeID == "" {
		return Shipment{}, step.Errorf("order %s: refusing to ship an order that was not charged", o.OrderID)
	}
	s := Shipment{ShipmentID: oms.ID("shp", o.OrderID), Method: MethodDigital}
	if phys := o.physical(); len(phys) > 0 {
		if in.ReservationID == "" {
			return Shipment{}, step.Errorf("order %s: physical items without a stock reservation", o.OrderID)
		}
		s.Method = MethodGround
		s.Carrier = "DHL"
		s.TrackingNumber = "JD" + oms.Digits(18, o.OrderID, in.ReservationID)
		if o.Shipping != nil && o.Shipping.Country == "US" {
			s.Carrier = "UPS"
			s.TrackingNumber = "1Z" + oms.Digits(16, o.OrderID, in.ReservationID)
		}
		for _, it := range phys {
			s.Units += it.Qty
		}
	}
	if err := oms.SetState(ctx, map[string]any{"status": "shipped", "shipment": s}); err != nil {
		return Shipment{}, err
	}
	if err := oms.Email(ctx, o.Customer.Email, "order-shipped", o.OrderID, map[string]any{
		"shipmentId":     s.ShipmentID,
		"method":         s.Method,
		"carrier":        s.Carrier,
		"trackingNumber": s.TrackingNumber,
	}); err != nil {
		return Shipment{}, err
	}
	ev := OrderShipped{ShipmentID: s.ShipmentID, Method: s.Method, Carrier: s.Carrier, TrackingNumber: s.TrackingNumber, ChargeID: in.ChargeID}
	if err := oms.Publish(ctx, oms.TopicOrderEvents, "OrderShipped", o.OrderID, ev); err != nil {
		return Shipment{}, fmt.Errorf("order %s: %w", o.OrderID, err)
	}
	return s, nil
}
