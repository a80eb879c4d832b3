package order

import (
	_ "embed"
	"time"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// Name and Version identify the workflow. Persisted: never rename.
const (
	Name    = "order"
	Version = "2"
)

// Function names the step functions are registered (and deployed as Lambda
// functions) under. Persisted in definitions and journals: never rename one;
// a breaking change gets a new name ("order-charge-payment-v2").
const (
	FnVerify   = "order-verify"
	FnFraud    = "order-fraud-check"
	FnReserve  = "order-reserve-inventory"
	FnCharge   = "order-charge-payment"
	FnWarranty = "order-issue-warranty"
	FnShip     = "order-ship"
	FnHistory  = "order-record-history"
)

// Register registers the order workflow's step functions in reg.
func Register(reg *step.Registry) {
	reg.Register(FnVerify, step.Func(Verify))
	reg.Register(FnFraud, step.Func(FraudCheck))
	reg.Register(FnReserve, step.Func(ReserveInventory))
	reg.Register(FnCharge, step.Func(ChargePayment))
	reg.Register(FnWarranty, step.Func(IssueWarranty))
	reg.Register(FnShip, step.Func(Ship))
	reg.Register(FnHistory, step.Func(RecordHistory))
}

// Workflow returns the order definition, ready to Build (pass
// workflow.Functions(reg.Has) to check it against a registry). The same
// definition is written as YAML in order.yaml (see YAML); both hash alike.
func Workflow() *workflow.Builder {
	return workflow.New(Name,
		workflow.Version(Version),
		workflow.Describe("Order placement: verify, fraud check and inventory in parallel, charge, warranty for digital SKUs, ship, record history."),
		workflow.Key("input.orderId"),
		workflow.RunTimeout(time.Hour),
		// The card number is sealed in the journal; steps get it in clear.
		workflow.Sensitive("input.payment.cardNumber"),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{
			MaxAttempts:        3,
			InitialInterval:    workflow.Duration(50 * time.Millisecond),
			BackoffCoefficient: 2,
			MaxInterval:        workflow.Duration(5 * time.Second),
		}),
		workflow.OnMessage(workflow.Trigger{Source: "sqs:orders"}),
		workflow.OnMessage(workflow.Trigger{Source: "kinesis:orders"}),

		workflow.Step("verify", FnVerify, workflow.Timeout(10*time.Second)),
		workflow.Step("fraud", FnFraud, workflow.After("verify"), workflow.Timeout(10*time.Second)),
		workflow.Step("reserve", FnReserve, workflow.After("verify"),
			workflow.Timeout(10*time.Second),
			workflow.Retry(workflow.RetryPolicy{
				MaxAttempts:        4,
				InitialInterval:    workflow.Duration(20 * time.Millisecond),
				BackoffCoefficient: 2,
				MaxInterval:        workflow.Duration(time.Second),
				NonRetryable:       []string{"out-of-stock"},
			})),
		workflow.Step("charge", FnCharge, workflow.After("fraud", "reserve"),
			workflow.Input(`{"order": input, "reservationId": steps.reserve.output.reservationId, "riskScore": steps.fraud.output.score}`),
			workflow.Timeout(30*time.Second),
			workflow.Retry(workflow.RetryPolicy{
				MaxAttempts:        3,
				InitialInterval:    workflow.Duration(100 * time.Millisecond),
				BackoffCoefficient: 2,
				MaxInterval:        workflow.Duration(2 * time.Second),
				NonRetryable:       []string{"card-declined"},
			}),
			workflow.Effects(oms.KindEmail)),
		workflow.Step("warranty", FnWarranty, workflow.After("charge"),
			workflow.When("steps.verify.output.hasDigital"),
			workflow.Input(`{"order": input, "chargeId": steps.charge.output.chargeId}`),
			workflow.Timeout(10*time.Second),
			workflow.Effects(oms.KindEmail)),
		workflow.Step("ship", FnShip, workflow.After("charge", "warranty"),
			workflow.Input(`{"order": input, "chargeId": steps.charge.output.chargeId, "reservationId": steps.reserve.output.reservationId}`),
			workflow.Timeout(30*time.Second),
			workflow.Effects(oms.KindEmail, oms.KindPublish)),
		workflow.Step("history", FnHistory, workflow.After("ship"),
			workflow.Input(`{"orderId": input.orderId, "customerId": input.customer.id, "state": state}`),
			workflow.Timeout(10*time.Second)),
	)
}

//go:embed order.yaml
var definitionYAML []byte

// YAML returns the order definition as YAML (order.yaml): the form a team
// uploads without redeploying. It describes the same definition as Workflow.
func YAML() []byte { return append([]byte(nil), definitionYAML...) }

// Load builds the order definition from its YAML form.
func Load(opts ...workflow.BuildOption) (*workflow.Definition, error) {
	return workflow.Load(definitionYAML, "workflows/order/order.yaml", opts...)
}
