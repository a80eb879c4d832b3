package internal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// eventWorkflow has an async task, an async map and a sync task after
// them.
var eventWorkflow = workflow.New("evinv",
	workflow.Key("input.id"),
	workflow.Step("charge", "ev-charge", workflow.Invoke(workflow.InvokeAsync)),
	workflow.Map("pack", "ev-pack", "input.items", workflow.After("charge"), workflow.Invoke(workflow.InvokeAsync)),
	workflow.Step("ship", "ev-ship", workflow.After("pack")),
).MustBuild()

func eventRegistry() *step.Registry {
	reg := step.NewRegistry()
	reg.Register("ev-charge", step.HandlerFunc(func(_ context.Context, req step.Request) (step.Result, error) {
		return step.Result{Output: json.RawMessage(`{"charged":true}`)}, nil
	}))
	reg.Register("ev-pack", step.HandlerFunc(func(_ context.Context, req step.Request) (step.Result, error) {
		return step.Result{Output: req.Input}, nil
	}))
	reg.Register("ev-ship", step.HandlerFunc(func(_ context.Context, req step.Request) (step.Result, error) {
		return step.Result{Output: json.RawMessage(`"shipped"`)}, nil
	}))
	return reg
}

// TestEventInvokeAWS runs async steps through the Lambdas' wiring: the
// orchestrator invokes them with InvocationType Event through the real
// Lambda client, each outcome comes back as a Lambda destination record
// on the orchestrator's queue, which delivers every message up to three
// times, out of order, to three orchestrator containers at once. Each
// attempt is invoked once and its result journaled once.
func TestEventInvokeAWS(t *testing.T) {
	c := dynamotest.Client(t)
	store := dynamojournal.New(c, dynamotest.Table(t, c))
	s, err := lambdatest.Start(lambdatest.Config{Store: store, Registry: eventRegistry(), Drivers: 3, Copies: 3,
		Visibility: 300 * time.Millisecond, Log: quietLog(), Seed: uint64(time.Now().UnixNano()),
		Setup: func(ctx context.Context, e *orchestrator.Engine) error { return e.Register(ctx, eventWorkflow) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Engine.Register(ctx, eventWorkflow); err != nil {
		t.Fatal(err)
	}
	const runs = 6
	for i := range runs {
		if _, err := s.Starter.Start(ctx, orchestrator.StartRequest{Workflow: "evinv",
			Input: json.RawMessage(fmt.Sprintf(`{"id":"r%d","items":[1,2,3]}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range runs {
		run := fmt.Sprintf("evinv/r%d", i)
		head, events := waitSettled(t, ctx, store, run)
		if head.Status != journal.StatusCompleted {
			t.Fatalf("%s: %s, want completed", run, head.Status)
		}
		results := map[string]int{}
		for _, e := range events {
			if e.Kind == journal.StepSucceeded || e.Kind == journal.StepFailed {
				results[fmt.Sprintf("%s[%d]#%d", e.Step, e.Index, e.Attempt)]++
			}
		}
		for k, n := range results {
			if n != 1 {
				t.Errorf("%s: the result of %s is journaled %d times, want 1", run, k, n)
			}
		}
		if len(results) != 6 { // charge, pack, pack's three items, ship
			t.Errorf("%s: results %v, want charge, pack[1..3] and ship (one attempt each)", run, results)
		}
	}
	for a, n := range s.Functions.Invocations() {
		if n != 1 {
			t.Errorf("%s invoked %d times, want 1", a, n)
		}
	}
	if st := s.Queues.Stats(); st.Duplicates == 0 {
		t.Errorf("no message was delivered twice (%+v): the test did not exercise duplicate results", st)
	}
}

func waitSettled(t *testing.T, ctx context.Context, store journal.Store, run string) (journal.Run, []journal.Event) {
	t.Helper()
	for {
		head, events, err := store.Load(ctx, run)
		if err == nil && (head.Status.Terminal() || head.Status == journal.StatusReview) {
			return head, events
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not settle: status %q, err %v", run, head.Status, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A destination record that names no attempt, or is not one, goes to
// review with a reason that says what is wrong; a result for a run that
// does not exist too; a duplicate of a journaled result is dropped without
// a review item.
func TestEventInvokeMalformedResultToReview(t *testing.T) {
	ctx := context.Background()
	store := memjournal.New()
	e := orchestrator.New(store, acceptEvents{}, orchestrator.WithLogger(quietLog()))
	if err := e.Register(ctx, eventWorkflow); err != nil {
		t.Fatal(err)
	}
	o := internal.NewOrchestrator(e, internal.NewContinuations(discardSQS{}, "q"), "ordo-", quietLog())
	record := func(request, response string) string {
		return `{"version":"1.0","timestamp":"2026-12-06T01:02:03Z","requestContext":{"requestId":"x","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:ordo-ev-charge:$LATEST","condition":"Success","approximateInvokeCount":1},` +
			`"requestPayload":` + request + `,"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":` + response + `}`
	}
	for name, tc := range map[string]struct{ body, reason string }{
		"no attempt":    {record(`{"run":"evinv/x","step":"charge"}`, `{}`), "names no step attempt"},
		"not a request": {record(`"evinv/x"`, `{}`), "requestPayload is not a step request"},
		"unknown run":   {record(`{"run":"evinv/none","step":"charge","attempt":1}`, `{"output":1}`), "does not exist"},
		"no condition":  {strings.Replace(record(`{"run":"evinv/x","step":"charge","attempt":1}`, `{}`), `"condition":"Success",`, "", 1), "no condition"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := o.HandleSQS(ctx, sqsEvent("m-"+name, tc.body))
			if len(resp.BatchItemFailures) != 0 {
				t.Fatalf("record failed (would be redelivered): %+v", resp)
			}
			it, err := store.Review(ctx, journal.ReviewID(journal.ReviewMalformedTrigger, "sqs:m-"+name))
			if err != nil {
				t.Fatalf("no review item: %v", err)
			}
			if !strings.Contains(it.Reason, tc.reason) || !json.Valid(it.Payload) {
				t.Fatalf("review item reason %q, want it to say %q", it.Reason, tc.reason)
			}
		})
	}
	// A run whose step answered: its duplicate result is dropped.
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "evinv", Input: json.RawMessage(`{"id":"x","items":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	ok := record(`{"run":"`+st.Run+`","step":"charge","attempt":1}`, `{"output":{"charged":true}}`)
	for i := range 2 {
		if resp := o.HandleSQS(ctx, sqsEvent(fmt.Sprint("dup-", i), ok)); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("result %d failed: %+v", i, resp)
		}
	}
	_, events, _ := store.Load(ctx, st.Run)
	n := 0
	for _, ev := range events {
		if ev.Kind == journal.StepSucceeded && ev.Step == "charge" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("charge's result journaled %d times, want 1", n)
	}
	if _, err := store.Review(ctx, journal.ReviewID(journal.ReviewMalformedTrigger, "sqs:dup-1")); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("the duplicate result made a review item: %v", err)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// discardSQS accepts every continuation and sends nothing.
type discardSQS struct{}

func (discardSQS) SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return &sqs.SendMessageOutput{}, nil
}

func (discardSQS) SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return &sqs.SendMessageBatchOutput{}, nil
}

// sqsEvent is a one-record batch from the orchestrator's queue.
func sqsEvent(id, body string) events.SQSEvent {
	return events.SQSEvent{Records: []events.SQSMessage{{MessageId: id, Body: body, EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:ordo-orchestrator"}}}
}

// acceptEvents starts every attempt without waiting and runs none.
type acceptEvents struct{ internal.NoInvoker }

func (acceptEvents) InvokeEvent(context.Context, step.Request) error { return nil }

// The results of one run that arrive in one batch (a map's items, and a
// duplicate) are journaled by one drive, in one commit, each once.
func TestEventInvokeResultsOfARunBatched(t *testing.T) {
	ctx := context.Background()
	store := memjournal.New()
	e := orchestrator.New(store, acceptEvents{}, orchestrator.WithLogger(quietLog()))
	def := workflow.New("fan", workflow.Key("input.id"),
		workflow.Map("m", "ev-pack", "input.items", workflow.Invoke(workflow.InvokeAsync))).MustBuild()
	if err := e.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	o := internal.NewOrchestrator(e, internal.NewContinuations(discardSQS{}, "q"), "ordo-", quietLog())
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "fan", Input: json.RawMessage(`{"id":"f","items":[1,2]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	item := func(i int) string {
		return fmt.Sprintf(`{"version":"1.0","requestContext":{"condition":"Success","approximateInvokeCount":1},`+
			`"requestPayload":{"run":%q,"step":"m","attempt":1,"index":%d},"responseContext":{"statusCode":200},"responsePayload":{"output":%d}}`, st.Run, i, i)
	}
	ev := sqsEvent("r1", item(1))
	for i, body := range []string{item(2), item(1)} {
		ev.Records = append(ev.Records, sqsEvent(fmt.Sprint("r", i+2), body).Records[0])
	}
	if resp := o.HandleSQS(ctx, ev); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch failed: %+v", resp)
	}
	head, events, err := store.Load(ctx, st.Run)
	if err != nil || head.Status != journal.StatusCompleted {
		t.Fatalf("run %s (%v), want completed", head.Status, err)
	}
	seqs := map[int64]int{}
	for _, ev := range events {
		if ev.Kind == journal.StepSucceeded && ev.Index > 0 {
			seqs[ev.Seq]++
		}
	}
	if len(seqs) != 1 {
		t.Fatalf("the items' results are in commits %v, want one commit with both", seqs)
	}
	for _, n := range seqs {
		if n != 2 {
			t.Fatalf("%d item results journaled, want 2 (the duplicate dropped)", n)
		}
	}
}
