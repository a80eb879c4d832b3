package internal_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
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
	return postWith(t, h, path, body, nil)
}

// postWith is post with more request headers.
func postWith(t *testing.T, h internal.FunctionURLFunc, path, body string, headers map[string]string) events.LambdaFunctionURLResponse {
	t.Helper()
	hdr := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		hdr[k] = v
	}
	resp, err := h(context.Background(), events.LambdaFunctionURLRequest{RawPath: path, Body: body,
		Headers: hdr,
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

	// A failed send is an error the client sees (and retries): 503 with
	// the run and Retry-After.
	q.fail = errors.New("sqs down")
	resp = post(t, h, "/v1/runs", string(body))
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" || !strings.Contains(resp.Body, st.Run) {
		t.Errorf("start with the queue down: %d %v %s, want 503 naming the run, with Retry-After", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// TestAPICommandNotScheduled: an event, a resubmit, a cancel or a callback
// completion journaled while the orchestrator's queue refuses the drive
// message is answered 503 (the run, Retry-After, the Idempotency-Key to
// repeat it with); repeating it with that key schedules the run without
// journaling the command twice. Nothing accepted is left undriven.
func TestAPICommandNotScheduled(t *testing.T) {
	t.Parallel()
	store := memjournal.New()
	keys, _ := callback.NewKeyring(callback.Key("functions/internal test key, not a secret"))
	engine := orchestrator.New(store, internal.NoInvoker{}, orchestrator.WithCallbackKeys(keys))
	def := workflow.New("cmds", workflow.Key("input.id"),
		workflow.Await("go", "go"),
		workflow.Step("ask", "ask", workflow.Async(), workflow.After("go")),
		workflow.Fail("no", "rejected", workflow.After("ask")),
	).MustBuild()
	ctx := context.Background()
	if err := engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	q := &controlQueue{}
	starter := internal.NewQueueStarter(engine, internal.NewContinuations(q, "https://sqs.test/1/ordo-orchestrator"), nil)
	h := internal.FunctionURLHandler(api.New(engine, starter, starter, api.WithAuthenticator(internal.IAMCallers(api.Operator))))
	if resp := post(t, h, "/v1/runs", `{"workflow":"cmds","input":{"id":"1"}}`); resp.StatusCode != 201 {
		t.Fatalf("start: %d %s", resp.StatusCode, resp.Body)
	}
	run := "cmds/1"
	// The run as the orchestrator would leave it: waiting for its event.
	waiting := func(events ...journal.Event) {
		t.Helper()
		head, _, err := store.Load(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, journal.Commit{Run: run, After: head.Seq, Events: events, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	waiting(journal.Event{Kind: journal.StepScheduled, Step: "go", Attempt: 1, At: time.Now()})
	count := func(kind journal.Kind) int {
		_, events, _ := store.Load(ctx, run)
		n := 0
		for _, e := range events {
			if e.Kind == kind {
				n++
			}
		}
		return n
	}
	token := keys.Sign(callback.Claims{Run: run, Step: "ask", Attempt: 1})
	for _, c := range []struct {
		name, path, body string
		kind             journal.Kind
		before           func()
	}{
		{"event", "/v1/runs/cmds/1/events", `{"name":"go","payload":1}`, journal.EventReceived, func() {}},
		{"callback", "/v1/callbacks/" + token, `{"output":"yes"}`, journal.StepSucceeded, func() {
			waiting(journal.Event{Kind: journal.StepSucceeded, Step: "go", Attempt: 1, Output: json.RawMessage(`1`), At: time.Now()},
				journal.Event{Kind: journal.StepScheduled, Step: "ask", Attempt: 1, At: time.Now()})
		}},
		{"resubmit", "/v1/runs/cmds/1/resubmit", `{"reason":"again"}`, journal.Resubmitted, func() {
			waiting(journal.Event{Kind: journal.StepScheduled, Step: "no", Attempt: 1, At: time.Now()},
				journal.Event{Kind: journal.StepFailed, Step: "no", Attempt: 1, At: time.Now(), Error: &journal.Error{Message: "rejected", Terminal: true}},
				journal.Event{Kind: journal.NeedsReview, Step: "no", Attempt: 1, At: time.Now(), Reason: "rejected"})
		}},
		{"cancel", "/v1/runs/cmds/1/cancel", `{"reason":"done"}`, journal.Cancelled, func() {}},
	} {
		c.before()
		before := count(c.kind)
		sent := len(q.bodies)
		q.fail = errors.New("sqs down")
		resp := post(t, h, c.path, c.body)
		var body struct {
			Run, IdempotencyKey string
		}
		_ = json.Unmarshal([]byte(resp.Body), &body)
		if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" || body.Run != run || body.IdempotencyKey == "" ||
			resp.Headers["Idempotency-Key"] != body.IdempotencyKey {
			t.Fatalf("%s with the queue down: %d %v %s; want 503 naming the run, Retry-After and the key to retry with",
				c.name, resp.StatusCode, resp.Headers, resp.Body)
		}
		q.fail = nil
		resp = postWith(t, h, c.path, c.body, map[string]string{"Idempotency-Key": body.IdempotencyKey})
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s retried with its key: %d %s, want success", c.name, resp.StatusCode, resp.Body)
		}
		if got := count(c.kind); got != before+1 {
			t.Errorf("%s: %d %s events journaled after a 503 and a retry, want %d", c.name, got, c.kind, before+1)
		}
		if len(q.bodies) != sent+1 || !strings.Contains(q.bodies[len(q.bodies)-1], run) {
			t.Errorf("%s: drive messages sent %v, want one for %s after the retry", c.name, q.bodies[sent:], run)
		}
	}
}

func TestNoInvoker(t *testing.T) {
	t.Parallel()
	if _, err := (internal.NoInvoker{}).Invoke(context.Background(), step.Request{}); !errors.Is(err, internal.ErrNoSteps) {
		t.Errorf("err %v, want ErrNoSteps", err)
	}
}
