package stephttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/stephttp"
)

// exchange is one request and response as they crossed the wire.
type exchange struct{ req, resp []byte }

// recorder wraps a step server and keeps every body it read and wrote.
type recorder struct {
	mu   sync.Mutex
	seen []exchange
	next http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	r.next.ServeHTTP(rec, req)
	r.mu.Lock()
	r.seen = append(r.seen, exchange{req: body, resp: rec.Body.Bytes()})
	r.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func compileSchema(t *testing.T) (req, resp *jsonschema.Schema) {
	t.Helper()
	f, err := os.Open("../docs/step-protocol.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const id = "https://github.com/ordoflow/ordo/docs/step-protocol.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	if req, err = c.Compile(id + "#/$defs/request"); err != nil {
		t.Fatal(err)
	}
	if resp, err = c.Compile(id + "#/$defs/response"); err != nil {
		t.Fatal(err)
	}
	return req, resp
}

func validate(t *testing.T, s *jsonschema.Schema, what string, b []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s %s: %v", what, b, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s %s does not match docs/step-protocol.schema.json: %v", what, b, err)
	}
}

// TestProtocolSchema runs a workflow whose every step is served over HTTP
// and checks each request and response that crossed the wire against the
// published JSON Schema: plain steps with output, state patch and effects,
// map items, an async step's token, terminal and retryable errors with
// kinds, and compensation calls.
func TestProtocolSchema(t *testing.T) {
	t.Parallel()
	reqSchema, respSchema := compileSchema(t)

	steps := step.NewRegistry()
	steps.Register("p-prepare", step.Func(func(ctx context.Context, in struct{ Items []int }) (map[string]int, error) {
		step.Emit(ctx, step.Effect{Kind: "log", Target: "audit", Payload: json.RawMessage(`{"prepared":true}`)})
		if err := step.SetState(ctx, map[string]any{"prepared": len(in.Items)}); err != nil {
			return nil, err
		}
		return map[string]int{"n": len(in.Items)}, nil
	}))
	steps.Register("p-item", step.Func(func(ctx context.Context, n int) (int, error) {
		if req, _ := step.RequestFrom(ctx); req.Attempt == 1 && n == 2 {
			return 0, errors.New("item 2 is busy") // retryable
		}
		return n * 10, nil
	}))
	steps.Register("p-approve", step.Func(func(ctx context.Context, _ any) (any, error) { return nil, nil }))
	steps.Register("p-charge", step.Func(func(ctx context.Context, _ any) (string, error) { return "ch-1", nil }))
	steps.Register("p-refund", step.Func(func(ctx context.Context, in json.RawMessage) (string, error) { return "re-1", nil }))
	steps.Register("p-ship", step.Func(func(ctx context.Context, _ any) (any, error) {
		return nil, step.Terminal(step.Kind("no-carrier", errors.New("no carrier serves this address")))
	}))
	rec := &recorder{next: stephttp.Handler(stepsHandler(steps))}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	reg := step.NewRegistry()
	m := stephttp.Mapping{}
	for _, name := range steps.Names() {
		m[name] = srv.URL + "/" + name
	}
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	def := workflow.New("proto", workflow.Key("input.id"), workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Millisecond)}),
		workflow.Step("prepare", "p-prepare"),
		workflow.Map("each", "p-item", "input.items", workflow.After("prepare")),
		workflow.Step("approve", "p-approve", workflow.Async(), workflow.After("each")),
		workflow.Step("charge", "p-charge", workflow.After("approve"), workflow.CompensateWith("p-refund")),
		workflow.Step("ship", "p-ship", workflow.After("charge")),
	).MustBuild(workflow.Functions(reg.Has))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt := embedded.New(memjournal.New(), reg)
	defer rt.Close()
	if err := rt.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "proto", Input: json.RawMessage(`{"id":"p1","items":[1,2,3]}`)})
	if err != nil {
		t.Fatal(err)
	}
	token := rec.waitToken(ctx, t)
	if err := rt.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`{"approved":true}`)}}); err != nil {
		t.Fatal(err)
	}
	status, err := rt.Wait(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	if status != journal.StatusFailed {
		t.Errorf("run settled as %s, want failed (compensated)", status)
	}

	var saw struct{ index, token, compensation, effects, state, terminal, retryable bool }
	for _, x := range rec.seen {
		validate(t, reqSchema, "request", x.req)
		validate(t, respSchema, "response", x.resp)
		var req step.Request
		var resp step.Response
		json.Unmarshal(x.req, &req)
		json.Unmarshal(x.resp, &resp)
		saw.index = saw.index || req.Index > 0
		saw.token = saw.token || req.Token != ""
		saw.compensation = saw.compensation || req.Compensation
		saw.effects = saw.effects || len(resp.Effects) > 0
		saw.state = saw.state || len(resp.State) > 0
		saw.terminal = saw.terminal || (resp.Error != nil && resp.Error.Terminal && resp.Error.Kind == "no-carrier")
		saw.retryable = saw.retryable || (resp.Error != nil && !resp.Error.Terminal)
	}
	if !(saw.index && saw.token && saw.compensation && saw.effects && saw.state && saw.terminal && saw.retryable) {
		t.Fatalf("the run did not exercise the whole protocol (%d exchanges): %+v", len(rec.seen), saw)
	}
}

// stepsHandler routes an HTTP step request to the function its URL names.
func stepsHandler(reg *step.Registry) step.Handler {
	return step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		h, ok := reg.Lookup(req.Function)
		if !ok {
			return step.Result{}, step.Errorf("no function %s", req.Function)
		}
		return h.Handle(ctx, req)
	})
}

// waitToken polls the recorded requests for the async step's token.
func (r *recorder) waitToken(ctx context.Context, t *testing.T) string {
	t.Helper()
	for ctx.Err() == nil {
		r.mu.Lock()
		for _, x := range r.seen {
			var req step.Request
			if json.Unmarshal(x.req, &req) == nil && req.Token != "" {
				r.mu.Unlock()
				return req.Token
			}
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the async step never got a token")
	return ""
}
