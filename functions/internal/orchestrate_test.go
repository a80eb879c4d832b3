package internal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// fakeSQS records sent messages; batches fail while failBatch is set.
type fakeSQS struct {
	mu        sync.Mutex
	bodies    []string
	delays    []int32
	failBatch error
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, aws.ToString(in.MessageBody))
	f.delays = append(f.delays, in.DelaySeconds)
	return &sqs.SendMessageOutput{}, nil
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failBatch != nil {
		return nil, f.failBatch
	}
	for _, e := range in.Entries {
		f.bodies = append(f.bodies, aws.ToString(e.MessageBody))
	}
	return &sqs.SendMessageBatchOutput{}, nil
}

func newTestOrchestrator(t *testing.T) (*Orchestrator, *memjournal.Store, *fakeSQS) {
	t.Helper()
	return newTestOrchestratorOn(t, func(s journal.Store) journal.Store { return s })
}

// newTestOrchestratorOn is newTestOrchestrator with the engine's journal
// wrapped by wrap (to inject failures).
func newTestOrchestratorOn(t *testing.T, wrap func(journal.Store) journal.Store) (*Orchestrator, *memjournal.Store, *fakeSQS) {
	t.Helper()
	reg := step.NewRegistry()
	reg.Register("echo", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		if in["boom"] == true {
			return nil, errors.New("transient")
		}
		step.Emit(ctx, step.Effect{Kind: "log"})
		return in, nil
	}))
	def, err := workflow.New("greet", workflow.Key("input.id"),
		workflow.OnMessage(workflow.Trigger{Source: "sqs:orders", When: `message.type == "greet"`, Input: "message.body"}),
		workflow.OnMessage(workflow.Trigger{Source: "kinesis:orders"}),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(1e9 * 30)}),
		workflow.Step("a", "echo"), workflow.Step("b", "echo", workflow.After("a"))).Build()
	if err != nil {
		t.Fatal(err)
	}
	store := memjournal.New()
	q := &fakeSQS{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := orchestrator.New(wrap(store), embedded.Invoker{Registry: reg}, orchestrator.WithLogger(log),
		orchestrator.WithDispatcher(NewSQSDispatcher(q, "effects")), orchestrator.WithCallbackKeys(testKeys))
	if err := eng.Register(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	return NewOrchestrator(eng, NewContinuations(q, "orch"), "ordo-", log), store, q
}

// testKeys signs the callback tokens of the test orchestrator.
var testKeys, _ = callback.NewKeyring(callback.Key("functions/internal test key, not a secret"))

func sqsRecord(id, body string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:ordo-orders"}
}

func TestSQSBatchWithMalformedRecord(t *testing.T) {
	o, store, _ := newTestOrchestrator(t)
	ctx := context.Background()
	ev := events.SQSEvent{Records: []events.SQSMessage{
		sqsRecord("m1", `{"type":"greet","body":{"id":"g1"}}`),
		sqsRecord("m2", `not json`),
		sqsRecord("m3", `{"type":"greet","body":{"id":"g1"}}`), // duplicate trigger
		sqsRecord("m4", `{"type":"other"}`),
		sqsRecord("m5", `{"workflow":"greet","input":{"id":"g2"}}`),
	}}
	resp := o.HandleSQS(ctx, ev)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch failures = %+v, want none (malformed records go to review)", resp.BatchItemFailures)
	}
	for _, run := range []string{"greet/g1", "greet/g2"} {
		head, _, err := store.Load(ctx, run)
		if err != nil || head.Status != journal.StatusCompleted {
			t.Fatalf("%s: %+v %v, want completed", run, head, err)
		}
	}
	items, _, _ := store.Reviews(ctx, journal.ReviewQuery{Kind: journal.ReviewMalformedTrigger})
	if len(items) != 2 {
		t.Fatalf("malformed-trigger review items = %d, want 2 (m2, m4)", len(items))
	}
	for _, it := range items {
		if (it.ID != "malformed-trigger/sqs:m2" && it.ID != "malformed-trigger/sqs:m4") || it.Source != "sqs:orders" ||
			!strings.Contains(it.Reason, "malformed message") || len(it.Payload) == 0 {
			t.Fatalf("review item %+v", it)
		}
	}
	if runs, _, _ := store.Runs(ctx, journal.Query{}); len(runs) != 2 {
		t.Fatalf("runs %+v, want greet/g1 and greet/g2 only (malformed records are not runs)", runs)
	}
	// Redelivery of the malformed record is harmless.
	if resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m2", "not json")}}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivered malformed record failed: %+v", resp)
	}
	if items, _, _ = store.Reviews(ctx, journal.ReviewQuery{}); len(items) != 2 {
		t.Fatalf("review items after a redelivery = %d, want 2", len(items))
	}
}

func TestRetryRidesOnDelayedContinuation(t *testing.T) {
	o, store, q := newTestOrchestrator(t)
	ctx := context.Background()
	resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m1", `{"workflow":"greet","input":{"id":"x","boom":true}}`)}})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatal(resp)
	}
	head, _, _ := store.Load(ctx, "greet/x")
	if head.Status != journal.StatusRunning {
		t.Fatalf("status %s, want running (waiting for the retry)", head.Status)
	}
	var cont Control
	found := false
	for i, b := range q.bodies {
		if json.Unmarshal([]byte(b), &cont) == nil && cont.Ordo == "continue" {
			found = true
			if cont.Run != "greet/x" || q.delays[i] < 29 || q.delays[i] > 30 {
				t.Fatalf("continuation %+v delay %d, want greet/x after 30s", cont, q.delays[i])
			}
		}
	}
	if !found {
		t.Fatalf("no continuation sent: %v", q.bodies)
	}
}

// failingStore fails every append to one run.
type failingStore struct {
	journal.Store
	run string
}

var errInjected = errors.New("injected: journal unavailable")

func (s failingStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	if c.Run == s.run {
		return 0, errInjected
	}
	return s.Store.Append(ctx, c)
}

func TestKinesisStopsAtFirstFailure(t *testing.T) {
	o, store, _ := newTestOrchestratorOn(t, func(s journal.Store) journal.Store { return failingStore{s, "greet/k2"} })
	ctx := context.Background()
	rec := func(seq, data string) events.KinesisEventRecord {
		return events.KinesisEventRecord{EventSource: "aws:kinesis", EventSourceArn: "arn:aws:kinesis:us-east-1:000000000000:stream/ordo-orders",
			Kinesis: events.KinesisRecord{SequenceNumber: seq, Data: []byte(data)}}
	}
	resp := o.HandleKinesis(ctx, events.KinesisEvent{Records: []events.KinesisEventRecord{
		rec("1", `{"id":"k1"}`), rec("2", `{"id":"k2"}`), rec("3", `{"id":"k3"}`)}})
	want := []events.KinesisBatchItemFailure{{ItemIdentifier: "2"}}
	if !slices.Equal(resp.BatchItemFailures, want) {
		t.Fatalf("batch failures = %+v, want %+v (the shard resumes from the failed record)", resp.BatchItemFailures, want)
	}
	if head, _, err := store.Load(ctx, "greet/k1"); err != nil || head.Status != journal.StatusCompleted {
		t.Errorf("greet/k1 (before the failure): %+v %v, want completed", head, err)
	}
	for _, run := range []string{"greet/k2", "greet/k3"} {
		if _, _, err := store.Load(ctx, run); !errors.Is(err, journal.ErrNotFound) {
			t.Errorf("%s (the failed record and the one after it): %v, want not started (ErrNotFound)", run, err)
		}
	}
}

func TestDecodeErrorsNameTheProblem(t *testing.T) {
	o, _, _ := newTestOrchestrator(t)
	for _, tc := range []struct{ channel, body, want string }{
		{"sqs:orders", `{`, "body is not JSON"},
		{"sqs:orders", `{"ordo":"continue"}`, "continue without a run"},
		{"sqs:orders", `{"ordo":"start"}`, "start without a workflow"},
		{"sqs:orders", `{"ordo":"jump"}`, `unknown control "jump"`},
		{"sqs:other", `{"a":1}`, "no workflow is bound to sqs:other"},
		{"sqs:orders", `{"type":"nope"}`, "matches none of the bindings of greet"},
	} {
		_, err := o.decoder.Decode(tc.channel, "t1", []byte(tc.body))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%s, %s) = %v, want ErrMalformed mentioning %q", tc.channel, tc.body, err, tc.want)
		}
	}
}

func TestChannel(t *testing.T) {
	for _, tc := range []struct{ svc, arn, want string }{
		{"sqs", "arn:aws:sqs:us-east-1:1:ordo-orders", "sqs:orders"},
		{"kinesis", "arn:aws:kinesis:us-east-1:1:stream/ordo-orders", "kinesis:orders"},
		{"sqs", "arn:aws:sqs:us-east-1:1:other", "sqs:other"},
	} {
		if got := Channel(tc.svc, tc.arn, "ordo-"); got != tc.want {
			t.Errorf("Channel(%s) = %s, want %s", tc.arn, got, tc.want)
		}
	}
}

func TestEventAndCallbackMessages(t *testing.T) {
	o, store, _ := newTestOrchestrator(t)
	ctx := context.Background()
	def, err := workflow.New("approve", workflow.Key("input.id"),
		workflow.Await("wait", "approved"),
		workflow.Step("cb", "echo", workflow.After("wait"), workflow.Async())).Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := o.engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	send := func(id, body string) {
		t.Helper()
		if resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(id, body)}}); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: %+v", body, resp)
		}
	}
	send("m1", `{"workflow":"approve","input":{"id":"x"}}`)
	send("m2", `{"ordo":"event","run":"approve/x","name":"approved","input":{"by":"ops"}}`)
	token := testKeys.Sign(callback.Claims{Run: "approve/x", Step: "cb", Attempt: 1})
	send("m3", `{"ordo":"complete","token":"`+token+`","input":"ok"}`)
	head, events, _ := store.Load(ctx, "approve/x")
	if head.Status != journal.StatusCompleted {
		for _, e := range events {
			t.Logf("%s %s %s", e.Kind, e.Step, e.Output)
		}
		t.Fatalf("status %s, want completed", head.Status)
	}
	// A repeated completion is dropped; an event for an unknown run goes to review.
	send("m4", `{"ordo":"complete","token":"`+token+`","input":"again"}`)
	send("m5", `{"ordo":"event","run":"approve/none","name":"approved"}`)
	items, _, _ := store.Reviews(ctx, journal.ReviewQuery{Kind: journal.ReviewMalformedTrigger})
	if len(items) != 1 || items[0].ID != "malformed-trigger/sqs:m5" {
		t.Fatalf("review items = %+v, want 1 (the event for an unknown run)", items)
	}
}

func TestForgedCallbackMessageGoesToReview(t *testing.T) {
	o, store, _ := newTestOrchestrator(t)
	ctx := context.Background()
	def, err := workflow.New("approve", workflow.Key("input.id"),
		workflow.Step("cb", "echo", workflow.Async())).Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := o.engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	send := func(id, body string) {
		t.Helper()
		if resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(id, body)}}); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: %+v", body, resp)
		}
	}
	send("m1", `{"workflow":"approve","input":{"id":"x"}}`)
	other, _ := callback.NewKeyring(callback.Key("another deployment's key, 32 bytes or more"))
	forged := other.Sign(callback.Claims{Run: "approve/x", Step: "cb", Attempt: 1})
	send("m2", `{"ordo":"complete","token":"`+forged+`","input":"forged"}`)
	if head, _, _ := store.Load(ctx, "approve/x"); head.Status.Terminal() {
		t.Fatalf("a forged callback finished the run: %s", head.Status)
	}
	items, _, _ := store.Reviews(ctx, journal.ReviewQuery{Kind: journal.ReviewMalformedTrigger})
	if len(items) != 1 || items[0].ID != "malformed-trigger/sqs:m2" || !strings.Contains(items[0].Reason, "signature") {
		t.Fatalf("review items %+v, want one for the forged callback, naming its signature", items)
	}
}

// TestRedeliveredTriggerInvokesEachAttemptOnce delivers the same start
// message three times, twice while the first delivery's Drive waits for a
// step: the redeliveries find the attempt under its lease, invoke nothing
// and hand the run on with a delayed continuation; each step is invoked once.
func TestRedeliveredTriggerInvokesEachAttemptOnce(t *testing.T) {
	ctx := context.Background()
	started, release := make(chan struct{}, 1), make(chan struct{})
	var mu sync.Mutex
	calls := map[string]int{}
	reg := step.NewRegistry()
	reg.Register("slow", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		req, _ := step.RequestFrom(ctx)
		mu.Lock()
		calls[req.Step+"#"+strconv.Itoa(req.Attempt)]++
		mu.Unlock()
		if req.Step == "a" {
			started <- struct{}{}
			<-release
		}
		return in, nil
	}))
	def := workflow.New("greet", workflow.Key("input.id"),
		workflow.Step("a", "slow", workflow.Timeout(time.Minute)), workflow.Step("b", "slow", workflow.After("a"))).MustBuild()
	store := memjournal.New()
	q := &fakeSQS{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := orchestrator.New(store, embedded.Invoker{Registry: reg}, orchestrator.WithLogger(log))
	if err := eng.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	o := NewOrchestrator(eng, NewContinuations(q, "orch"), "ordo-", log)
	msg := `{"workflow":"greet","input":{"id":"g1"}}`
	first := make(chan events.SQSEventResponse, 1)
	go func() { first <- o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m1", msg)}}) }()
	<-started
	for _, id := range []string{"m1", "m1-again"} {
		if resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(id, msg)}}); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("redelivery %s failed: %+v", id, resp)
		}
	}
	q.mu.Lock()
	conts := slices.Clone(q.delays)
	q.mu.Unlock()
	if len(conts) != 2 || conts[0] < 60 || conts[1] < 60 {
		t.Errorf("continuation delays %v s, want two, each at a's lease (its 1 min timeout and more)", conts)
	}
	close(release)
	if resp := <-first; len(resp.BatchItemFailures) != 0 {
		t.Fatalf("first delivery failed: %+v", resp)
	}
	head, _, err := store.Load(ctx, "greet/g1")
	if err != nil || head.Status != journal.StatusCompleted {
		t.Fatalf("run: %+v %v, want completed", head, err)
	}
	if diff := cmp.Diff(calls, map[string]int{"a#1": 1, "b#1": 1}); diff != "" {
		t.Errorf("invocations per attempt (-got +want):\n%s", diff)
	}
}

// TestEffectsResentAfterFailedSendOnLastCommit fails the send of a run's
// effects on its last commit: the handler hands the run on with a delayed
// continuation, and that continuation sends them and journals them as
// dispatched.
func TestEffectsResentAfterFailedSendOnLastCommit(t *testing.T) {
	o, store, q := newTestOrchestrator(t)
	ctx := context.Background()
	q.failBatch = errors.New("effects queue unavailable")
	if resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{
		sqsRecord("m1", `{"workflow":"greet","input":{"id":"e1"}}`)}}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch failures: %+v", resp)
	}
	head, evs, err := store.Load(ctx, "greet/e1")
	if err != nil || head.Status != journal.StatusCompleted {
		t.Fatalf("run: %+v %v, want completed", head, err)
	}
	if n := count(evs, journal.EffectDispatched); n != 0 {
		t.Fatalf("%d EffectDispatched journaled while the queue failed", n)
	}
	q.mu.Lock()
	var cont string
	for i, b := range q.bodies {
		if strings.Contains(b, `"ordo":"continue"`) && q.delays[i] >= 1 {
			cont = b
		}
	}
	q.failBatch = nil
	q.mu.Unlock()
	if cont == "" {
		t.Fatalf("no delayed continuation sent; messages %v", q.bodies)
	}
	if resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "c1", Body: cont,
		EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:ordo-orchestrator"}}}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("continuation failed: %+v", resp)
	}
	_, evs, _ = store.Load(ctx, "greet/e1")
	if n := count(evs, journal.EffectDispatched); n != 2 {
		t.Errorf("%d EffectDispatched journaled, want 2 (one per step's effect)", n)
	}
	q.mu.Lock()
	sent := 0
	for _, b := range q.bodies {
		if strings.Contains(b, `"effect"`) {
			sent++
		}
	}
	q.mu.Unlock()
	if sent != 2 {
		t.Errorf("%d effect messages sent, want 2", sent)
	}
}

func count(events []journal.Event, kind journal.Kind) int {
	n := 0
	for _, e := range events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}
