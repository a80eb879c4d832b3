package internal_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/workflows"
)

func TestIAMCallerIsJournaled(t *testing.T) {
	t.Parallel()
	h, _, store := newAPI(t)
	body, _ := json.Marshal(map[string]any{"workflow": "order", "input": json.RawMessage(workflows.SampleOrder(2))})
	resp := post(t, h, "/v1/runs", string(body))
	if resp.StatusCode != 201 {
		t.Fatalf("start: %d %s", resp.StatusCode, resp.Body)
	}
	var st struct{ Run string }
	json.Unmarshal([]byte(resp.Body), &st)
	_, evs, err := store.Load(context.Background(), st.Run)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Kind != journal.RunStarted || evs[0].By != testCaller {
		t.Fatalf("first event %s by %q, want RunStarted by the IAM caller", evs[0].Kind, evs[0].By)
	}
}

func TestFunctionURLRoles(t *testing.T) {
	t.Parallel()
	h, q, _ := newRoleAPI(t, api.Viewer)
	body, _ := json.Marshal(map[string]any{"workflow": "order", "input": json.RawMessage(workflows.SampleOrder(3))})
	if resp := post(t, h, "/v1/runs", string(body)); resp.StatusCode != 403 {
		t.Fatalf("start through the viewer's URL: %d %s, want 403", resp.StatusCode, resp.Body)
	}
	if len(q.bodies) != 0 {
		t.Fatalf("a refused start reached the orchestrator: %v", q.bodies)
	}
	// No IAM caller in the request context: not an AWS_IAM Function URL.
	resp, err := h(context.Background(), events.LambdaFunctionURLRequest{RawPath: "/v1/runs",
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}}})
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous GET: %d %s %v, want 401", resp.StatusCode, resp.Body, err)
	}
}
