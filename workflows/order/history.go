package order

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// HistoryInput is the history step's input: the order's identity and the
// run's state document as the earlier steps left it.
type HistoryInput struct {
	OrderID    string          `json:"orderId"`
	CustomerID string          `json:"customerId"`
	State      json.RawMessage `json:"state"`
}

// HistoryRecord is the history step's output: the entry written to the
// customer's order history.
type HistoryRecord struct {
	HistoryID     string   `json:"historyId"`
	OrderID       string   `json:"orderId"`
	CustomerID    string   `json:"customerId"`
	Status        string   `json:"status"`
	PaymentStatus string   `json:"paymentStatus"`
	ChargeID      string   `json:"chargeId"`
	ShipmentID    string   `json:"shipmentId"`
	Warranties    []string `json:"warranties"`
}

// orderState is the part of the run's state the history step reads.
type orderState struct {
	Status        string   `json:"status"`
	PaymentStatus string   `json:"paymentStatus"`
	ChargeID      string   `json:"chargeId"`
	Warranties    []string `json:"warranties"`
	Shipment      struct {
		ShipmentID string `json:"shipmentId"`
	} `json:"shipment"`
}

// RecordHistory writes the order's final state to the customer's order
// history and patches state with {"status":"completed"}. A state that does
// not decode fails terminally.
func RecordHistory(ctx context.Context, in HistoryInput) (HistoryRecord, error) {
	var st orderState
	if len(in.State) > 0 {
		if err := json.Unmarshal(in.State, &st); err != nil {
			return HistoryRecord{}, step.Terminal(fmt.Errorf("order %s: decode state: %w", in.OrderID, err))
		}
	}
	if in.OrderID == "" {
		return HistoryRecord{}, step.Errorf("record history: missing orderId")
	}
	rec := HistoryRecord{
		HistoryID:     oms.ID("hist", in.OrderID),
		OrderID:       in.OrderID,
		CustomerID:    in.CustomerID,
		Status:        "completed",
		PaymentStatus: st.PaymentStatus,
		ChargeID:      st.ChargeID,
		ShipmentID:    st.Shipment.ShipmentID,
		Warranties:    st.Warranties,
	}
	if rec.Warranties == nil {
		rec.Warranties = []string{}
	}
	if err := oms.SetState(ctx, map[string]any{"status": "completed"}); err != nil {
		return HistoryRecord{}, err
	}
	return rec, nil
}
