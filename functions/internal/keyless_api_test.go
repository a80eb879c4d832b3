package internal_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestAPIKeylessStarts starts a workflow without a key expression through
// the API Lambda's handler: each start is a new run, unless the client
// repeats an Idempotency-Key.
func TestAPIKeylessStarts(t *testing.T) {
	t.Parallel()
	store := memjournal.New()
	engine := orchestrator.New(store, internal.NoInvoker{})
	note := workflow.New("note", workflow.Pass("echo", "input")).MustBuild()
	if err := engine.Register(context.Background(), note); err != nil {
		t.Fatal(err)
	}
	q := &controlQueue{}
	starter := internal.NewQueueStarter(engine, internal.NewContinuations(q, "https://sqs.test/1/ordo-orchestrator"), nil)
	h := internal.FunctionURLHandler(api.New(engine, starter, starter, api.WithAuthenticator(internal.IAMCallers(api.Operator))))
	startNote := func(idem string) (int, string) {
		t.Helper()
		headers := map[string]string{"content-type": "application/json"}
		if idem != "" {
			headers["idempotency-key"] = idem
		}
		resp, err := h(context.Background(), events.LambdaFunctionURLRequest{RawPath: "/v1/runs", Body: `{"workflow":"note","input":{}}`,
			Headers: headers,
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"},
				Authorizer: &events.LambdaFunctionURLRequestContextAuthorizerDescription{
					IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{UserARN: testCaller}}}})
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Run string `json:"run"`
		}
		_ = json.Unmarshal([]byte(resp.Body), &st)
		return resp.StatusCode, st.Run
	}
	c1, r1 := startNote("")
	c2, r2 := startNote("")
	if c1 != 201 || c2 != 201 || r1 == r2 {
		t.Fatalf("two keyless starts: %d %s and %d %s, want two new runs", c1, r1, c2, r2)
	}
	c3, r3 := startNote("client-42")
	c4, r4 := startNote("client-42")
	if c3 != 201 || c4 != 200 || r3 != r4 {
		t.Fatalf("two starts with one Idempotency-Key: %d %s and %d %s, want one run", c3, r3, c4, r4)
	}
	runs, _, err := store.Runs(context.Background(), journal.Query{Workflow: "note"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("%d note runs journaled, want 3", len(runs))
	}
}
