package returns

import (
	"time"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// Name and Version identify the workflow. Persisted: never rename.
const (
	Name    = "return"
	Version = "1"
)

// Function names of the return steps. Persisted: never rename one.
const (
	FnAuthorize = "return-authorize"
	FnInspect   = "return-inspect"
	FnRefund    = "return-refund"
	FnNotify    = "return-notify"
)

// ReceiveWait is how long the receive step waits for the parcel. A real
// deployment waits days (or for a warehouse callback); the sample waits
// briefly so demo runs finish.
const ReceiveWait = 50 * time.Millisecond

// Register registers the return workflow's step functions in reg.
func Register(reg *step.Registry) {
	reg.Register(FnAuthorize, step.Func(Authorize))
	reg.Register(FnInspect, step.Func(Inspect))
	reg.Register(FnRefund, step.Func(RefundInspected))
	reg.Register(FnNotify, step.Func(Notify))
}

// Workflow returns the return definition, ready to Build.
func Workflow() *workflow.Builder {
	return workflow.New(Name,
		workflow.Version(Version),
		workflow.Describe("Concession: authorize a return (RMA), wait for the parcel, inspect it, refund what is accepted, notify the customer."),
		workflow.Key("input.returnId"),
		workflow.DeferredBy("input.orderId"),
		workflow.RunTimeout(24*time.Hour),
		workflow.OnMessage(workflow.Trigger{Source: "sqs:concessions", When: `message.type == "return"`, Input: "message.return"}),

		workflow.Step("authorize", FnAuthorize, workflow.Effects(oms.KindEmail)),
		workflow.Wait("receive", ReceiveWait, workflow.After("authorize")),
		workflow.Step("inspect", FnInspect, workflow.After("receive"),
			workflow.Input(`{"request": input, "rma": steps.authorize.output.rma}`)),
		workflow.Step("refund", FnRefund, workflow.After("inspect"),
			workflow.Input(`{"request": input, "inspection": steps.inspect.output}`),
			workflow.Timeout(30*time.Second),
			workflow.Retry(workflow.RetryPolicy{
				MaxAttempts:        5,
				InitialInterval:    workflow.Duration(100 * time.Millisecond),
				BackoffCoefficient: 2,
				MaxInterval:        workflow.Duration(5 * time.Second),
			})),
		workflow.Step("notify", FnNotify, workflow.After("refund"),
			workflow.Input(`{"request": input, "rma": steps.authorize.output.rma, "refund": steps.refund.output}`),
			workflow.Effects(oms.KindEmail, oms.KindPublish)),
	)
}
