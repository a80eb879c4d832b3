package internal_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

type controlQueue struct {
	mu     sync.Mutex
	bodies []string
	fail   error
}

func (q *controlQueue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return nil, q.fail
	}
	q.bodies = append(q.bodies, aws.ToString(in.MessageBody))
	return &sqs.SendMessageOutput{}, nil
}

func (q *controlQueue) SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return nil, errors.New("not used")
}

func newAPI(t *testing.T) (internal.FunctionURLFunc, *controlQueue, journal.Store) {
	t.Helper()
	return newRoleAPI(t, api.Operator)
}

// testCaller is the IAM caller the tests' requests come from.
const testCaller = "arn:aws:sts::123456789012:assumed-role/ordo-api-operator/test"

func newRoleAPI(t *testing.T, role api.Role) (internal.FunctionURLFunc, *controlQueue, journal.Store) {
	t.Helper()
	store := memjournal.New()
	engine := orchestrator.New(store, internal.NoInvoker{})
	reg := step.NewRegistry()
	workflows.Register(reg)
	defs, err := workflows.Definitions(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Register(context.Background(), defs...); err != nil {
		t.Fatal(err)
	}
	q := &controlQueue{}
	starter := internal.NewQueueStarter(engine, internal.NewContinuations(q, "https://sqs.test/1/ordo-orchestrator"), nil)
	return internal.FunctionURLHandler(api.New(engine, starter, starter,
		api.WithAuthenticator(internal.IAMCallers(role)))), q, store
}

func post(t *testing.T, h internal.FunctionURLFunc, path, body string) events.LambdaFunctionURLResponse {
	t.Helper()
	resp, err := h(context.Background(), events.LambdaFunctionURLRequest{RawPath: path, Body: body,
		Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"},
			Authorizer: &events.LambdaFunctionURLRequestContextAuthorizerDescription{
				IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{UserARN: testCaller}}}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestAPIStartHandsRunToOrchestrator(t *testing.T) {
	t.Parallel()
	h, q, store := newAPI(t)
	body, _ := json.Marshal(map[string]any{"workflow": "order", "input": json.RawMessage(workflows.SampleOrder(1))})
	resp := post(t, h, "/v1/runs", string(body))
	if resp.StatusCode != 201 {
		t.Fatalf("start: %d %s", resp.StatusCode, resp.Body)
	}
	var st struct {
		Run     string `json:"run"`
		Created bool   `json:"created"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &st); err != nil {
		t.Fatal(err)
	}
	head, _, err := store.Load(context.Background(), st.Run)
	if err != nil {
		t.Fatalf("run %s not journaled: %v", st.Run, err)
	}
	if head.Status != journal.StatusRunning {
		t.Errorf("status %s, want running (the API must not drive runs)", head.Status)
	}
	cont := `{"ordo":"continue","run":"` + st.Run + `"}`
	if d := cmp.Diff(q.bodies, []string{cont}); d != "" {
		t.Errorf("orchestrator queue (-got +want):\n%s", d)
	}

	// A duplicate start (a client retry) is a no-op on the journal and
	// hands the run on again.
	if resp := post(t, h, "/v1/runs", string(body)); resp.StatusCode != 200 {
		t.Fatalf("duplicate start: %d %s", resp.StatusCode, resp.Body)
	}
	if d := cmp.Diff(q.bodies, []string{cont, cont}); d != "" {
		t.Errorf("orchestrator queue after a duplicate (-got +want):\n%s", d)
	}

	// A failed send is an error the client sees (and retries).
	q.fail = errors.New("sqs down")
	if resp := post(t, h, "/v1/runs", string(body)); resp.StatusCode != 500 {
		t.Errorf("start with the queue down: %d %s, want 500", resp.StatusCode, resp.Body)
	}
}

func TestNoInvoker(t *testing.T) {
	t.Parallel()
	if _, err := (internal.NoInvoker{}).Invoke(context.Background(), step.Request{}); !errors.Is(err, internal.ErrNoSteps) {
		t.Errorf("err %v, want ErrNoSteps", err)
	}
}
