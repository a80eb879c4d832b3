package orchestratortest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ordoflow/ordo/orchestrator/orchestratortest"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// A charge that fails twice and backs off for minutes between attempts
// settles at once: the harness moves its clock to each retry.
func Example() {
	def := workflow.New("order",
		workflow.Step("charge", "charge-card", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3,
			InitialInterval: workflow.Duration(10 * time.Minute), BackoffCoefficient: 2, MaxInterval: workflow.Duration(time.Hour)})),
		workflow.Step("ship", "ship", workflow.After("charge")),
	).MustBuild()

	t := &testing.T{} // in a test, the *testing.T it is given
	h := orchestratortest.New(t, nil, []*workflow.Definition{def})
	gateway := errors.New("gateway unavailable")
	h.Stub("charge", orchestratortest.Sequence(orchestratortest.Fail(gateway), orchestratortest.Fail(gateway),
		orchestratortest.Output(map[string]string{"chargeId": "ch-1"})))
	h.Stub("ship", orchestratortest.Output("shipped"))

	run := h.Run("order", map[string]int{"cents": 4200})
	fmt.Println(run.Status(), run.Steps(), "charge attempts:", run.Attempts("charge"))
	fmt.Println("clock moved", h.Now().Sub(orchestratortest.Epoch))
	// Output:
	// completed [charge ship] charge attempts: 3
	// clock moved 30m0s
}
