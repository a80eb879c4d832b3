package refund

import (
	"time"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

// Name and Version identify the workflow. Persisted: never rename.
const (
	Name    = "refund"
	Version = "1"
)

// Function names of the refund steps. Persisted: never rename one.
const (
	FnValidate = "refund-validate"
	FnCompute  = "refund-compute"
	FnIssue    = "refund-issue"
	FnNotify   = "refund-notify"
)

// Register registers the refund workflow's step functions in reg.
func Register(reg *step.Registry) {
	reg.Register(FnValidate, step.Func(Validate))
	reg.Register(FnCompute, step.Func(ComputeRefund))
	reg.Register(FnIssue, step.Func(IssueRefund))
	reg.Register(FnNotify, step.Func(Notify))
}

// Workflow returns the refund definition, ready to Build.
func Workflow() *workflow.Builder {
	return workflow.New(Name,
		workflow.Version(Version),
		workflow.Describe("Concession: validate a refund request, price it, refund the charge, notify the customer."),
		workflow.Key("input.refundId"),
		workflow.DeferredBy("input.orderId"),
		workflow.RunTimeout(time.Hour),
		workflow.OnMessage(workflow.Trigger{Source: "sqs:concessions", When: `message.type == "refund"`, Input: "message.refund"}),

		workflow.Step("validate", FnValidate),
		workflow.Step("compute", FnCompute, workflow.After("validate")),
		workflow.Step("issue", FnIssue, workflow.After("compute"),
			workflow.Input(`{"request": input, "amountCents": steps.compute.output.amountCents}`),
			workflow.Timeout(30*time.Second),
			workflow.Retry(workflow.RetryPolicy{
				MaxAttempts:        5,
				InitialInterval:    workflow.Duration(100 * time.Millisecond),
				BackoffCoefficient: 2,
				MaxInterval:        workflow.Duration(5 * time.Second),
			})),
		workflow.Step("notify", FnNotify, workflow.After("issue"),
			workflow.Input(`{"request": input, "refund": steps.issue.output}`),
			workflow.Effects(oms.KindEmail, oms.KindPublish)),
	)
}
