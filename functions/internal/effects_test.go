package internal_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/effect/egress"
)

type sent struct {
	Queue, Body, EffectID, Run string
}

type fakeSQS struct {
	mu   sync.Mutex
	sent []sent
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sent{Queue: aws.ToString(in.QueueUrl), Body: aws.ToString(in.MessageBody),
		EffectID: aws.ToString(in.MessageAttributes[internal.EffectIDAttribute].StringValue),
		Run:      aws.ToString(in.MessageAttributes["ordo-run"].StringValue)})
	return &sqs.SendMessageOutput{MessageId: aws.String("m")}, nil
}

func (f *fakeSQS) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String("https://sqs.test/" + aws.ToString(in.QueueOwnerAWSAccountId) + "/" + aws.ToString(in.QueueName))}, nil
}

type put struct {
	Stream, Key, Data string
}

type fakeKinesis struct {
	mu  sync.Mutex
	put []put
}

func (f *fakeKinesis) PutRecord(_ context.Context, in *kinesis.PutRecordInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.put = append(f.put, put{Stream: aws.ToString(in.StreamName) + aws.ToString(in.StreamARN), Key: aws.ToString(in.PartitionKey), Data: string(in.Data)})
	return &kinesis.PutRecordOutput{}, nil
}

type hook struct {
	fail atomic.Bool
	mu   sync.Mutex
	keys []string
	body []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
	h.body = append(h.body, string(b))
	h.mu.Unlock()
	if h.fail.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type effectsFixture struct {
	store *memjournal.Store
	sqs   *fakeSQS
	kin   *fakeKinesis
	hook  *hook
	url   string
	fx    *internal.Effects
}

func newEffectsFixture(t *testing.T, runs ...string) *effectsFixture {
	t.Helper()
	f := &effectsFixture{store: memjournal.New(), sqs: &fakeSQS{}, kin: &fakeKinesis{}, hook: &hook{}}
	srv := httptest.NewServer(f.hook)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/hook"
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, run := range runs {
		_, err := f.store.Append(context.Background(), journal.Commit{Run: run, Workflow: "order", DefHash: "h", At: now,
			Status: journal.StatusRunning, Events: []journal.Event{{Kind: journal.RunStarted, At: now, Workflow: "order"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	f.fx = internal.NewEffects(f.store, internal.EffectsConfig{SQS: f.sqs, Kinesis: f.kin,
		HTTPTargets: egress.MustParse("127.0.0.1"), HTTPTimeout: 5 * time.Second, NotificationsQueueURL: "https://sqs.test/1/ordo-notifications",
		EventsStream: "ordo-order-events", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.fx.Executor().Attempts = 1
	return f
}

func effectMsg(t *testing.T, id, run string, e journal.Effect) events.SQSMessage {
	t.Helper()
	b, err := json.Marshal(internal.EffectMessage{Run: run, Effect: e})
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(b)}
}

func (f *effectsFixture) handle(t *testing.T, msgs ...events.SQSMessage) []string {
	t.Helper()
	resp, err := f.fx.HandleSQS(context.Background(), events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatalf("HandleSQS: %v", err)
	}
	ids := []string{}
	for _, b := range resp.BatchItemFailures {
		ids = append(ids, b.ItemIdentifier)
	}
	return ids
}

// outcomes lists the run's effect outcome events as "kind id".
func (f *effectsFixture) outcomes(t *testing.T, run string) (journal.Run, map[string][]journal.Kind, []journal.Event) {
	t.Helper()
	head, evs, err := f.store.Load(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]journal.Kind{}
	var review []journal.Event
	for _, e := range evs {
		if e.EffectID != "" {
			out[e.EffectID] = append(out[e.EffectID], e.Kind)
		}
		if e.Kind == journal.NeedsReview {
			review = append(review, e)
		}
	}
	return head, out, review
}

func TestEffectsEveryKind(t *testing.T) {
	t.Parallel()
	const run = "order/ord-1"
	f := newEffectsFixture(t, run)
	msgs := []events.SQSMessage{
		effectMsg(t, "m1", run, journal.Effect{ID: "e-sqs", Kind: "sqs", Target: "arn:aws:sqs:us-east-1:123456789012:audit", Payload: json.RawMessage(`{"a":1}`)}),
		effectMsg(t, "m2", run, journal.Effect{ID: "e-kin", Kind: "kinesis", Target: "clicks", Payload: json.RawMessage(`{"b":2}`)}),
		effectMsg(t, "m3", run, journal.Effect{ID: "e-http", Kind: "http", Target: f.url, Payload: json.RawMessage(`{"c":3}`)}),
		effectMsg(t, "m4", run, journal.Effect{ID: "e-log", Kind: "log", Payload: json.RawMessage(`{"d":4}`)}),
		effectMsg(t, "m5", run, journal.Effect{ID: "e-mail", Kind: "email", Target: "ada@example.com", Payload: json.RawMessage(`{"template":"order-confirmed"}`)}),
		effectMsg(t, "m6", run, journal.Effect{ID: "e-pub", Kind: "publish", Target: "order-events", Payload: json.RawMessage(`{"type":"OrderShipped"}`)}),
	}
	if got := f.handle(t, msgs...); len(got) != 0 {
		t.Fatalf("batch item failures %v, want none", got)
	}
	_, outcomes, _ := f.outcomes(t, run)
	for _, id := range []string{"e-sqs", "e-kin", "e-http", "e-log", "e-mail", "e-pub"} {
		if d := cmp.Diff(outcomes[id], []journal.Kind{journal.EffectSucceeded}); d != "" {
			t.Errorf("effect %s outcomes (-got +want):\n%s", id, d)
		}
	}
	byQueue := map[string]sent{}
	for _, s := range f.sqs.sent {
		byQueue[s.Queue] = s
	}
	wantSQS := map[string]sent{
		"https://sqs.test/123456789012/audit": {Queue: "https://sqs.test/123456789012/audit", Body: `{"a":1}`, EffectID: "e-sqs", Run: run},
		"https://sqs.test/1/ordo-notifications": {Queue: "https://sqs.test/1/ordo-notifications", EffectID: "e-mail", Run: run,
			Body: `{"id":"e-mail","run":"order/ord-1","to":"ada@example.com","payload":{"template":"order-confirmed"}}`},
	}
	if d := cmp.Diff(byQueue, wantSQS); d != "" {
		t.Errorf("SQS messages (-got +want):\n%s", d)
	}
	byStream := map[string]put{}
	for _, p := range f.kin.put {
		byStream[p.Stream] = p
	}
	wantKin := map[string]put{
		"clicks": {Stream: "clicks", Key: run, Data: `{"b":2}`},
		"ordo-order-events": {Stream: "ordo-order-events", Key: run,
			Data: `{"id":"e-pub","run":"order/ord-1","topic":"order-events","event":{"type":"OrderShipped"}}`},
	}
	if d := cmp.Diff(byStream, wantKin); d != "" {
		t.Errorf("Kinesis records (-got +want):\n%s", d)
	}
	if d := cmp.Diff(f.hook.keys, []string{"e-http"}); d != "" {
		t.Errorf("Idempotency-Key headers (-got +want):\n%s", d)
	}

	// A redelivery of the whole batch sends nothing twice.
	if got := f.handle(t, msgs...); len(got) != 0 {
		t.Fatalf("redelivery: batch item failures %v, want none", got)
	}
	if len(f.sqs.sent) != 2 || len(f.kin.put) != 2 || len(f.hook.keys) != 1 {
		t.Errorf("redelivery repeated effects: %d SQS, %d Kinesis, %d HTTP", len(f.sqs.sent), len(f.kin.put), len(f.hook.keys))
	}
}

func TestEffectsFailureIsRetriedBySQS(t *testing.T) {
	t.Parallel()
	const run = "order/ord-2"
	f := newEffectsFixture(t, run)
	f.hook.fail.Store(true)
	msgs := []events.SQSMessage{
		effectMsg(t, "m1", run, journal.Effect{ID: "e-http", Kind: "http", Target: f.url}),
		effectMsg(t, "m2", run, journal.Effect{ID: "e-log", Kind: "log"}),
		effectMsg(t, "m3", run, journal.Effect{ID: "e-bad", Kind: "teleport"}),
	}
	if d := cmp.Diff(f.handle(t, msgs...), []string{"m1"}); d != "" {
		t.Fatalf("batch item failures (-got +want):\n%s", d)
	}
	_, outcomes, _ := f.outcomes(t, run)
	want := map[string][]journal.Kind{"e-http": {journal.EffectFailed}, "e-log": {journal.EffectSucceeded}, "e-bad": {journal.EffectFailed}}
	if d := cmp.Diff(outcomes, want); d != "" {
		t.Fatalf("outcomes (-got +want):\n%s", d)
	}

	// SQS redelivers m1; the endpoint is back.
	f.hook.fail.Store(false)
	if got := f.handle(t, msgs[0]); len(got) != 0 {
		t.Fatalf("retry: batch item failures %v, want none", got)
	}
	_, outcomes, _ = f.outcomes(t, run)
	if d := cmp.Diff(outcomes["e-http"], []journal.Kind{journal.EffectFailed, journal.EffectSucceeded}); d != "" {
		t.Errorf("e-http outcomes after a successful retry (-got +want):\n%s", d)
	}
}

func TestEffectsMalformed(t *testing.T) {
	t.Parallel()
	const run = "order/ord-3"
	f := newEffectsFixture(t, run)
	tests := []struct {
		name, body  string
		wantFailure bool
		wantReview  bool
	}{
		{"not JSON", `{"run": "order/ord-3", "effect": `, true, false}, // run unreadable from broken JSON
		{"no run", `{"effect":{"id":"e1","kind":"log"}}`, true, false},
		{"unknown run", `{"run":"order/nope","effect":{"id":"e1"}}`, true, false},
		{"effect without id", `{"run":"order/ord-3","effect":{"kind":"log"}}`, false, true},
		{"wrong types", `{"run":"order/ord-3","effect":{"id":7}}`, false, true},
	}
	for i, tt := range tests {
		id := string(rune('a' + i))
		got := f.handle(t, events.SQSMessage{MessageId: id, Body: tt.body})
		if (len(got) == 1) != tt.wantFailure {
			t.Errorf("%s: batch item failures %v, want failure %v", tt.name, got, tt.wantFailure)
		}
	}
	head, _, review := f.outcomes(t, run)
	if len(review) != 2 {
		t.Fatalf("NeedsReview events: %d, want 2: %+v", len(review), review)
	}
	if head.Status != journal.StatusReview {
		t.Errorf("run status %s, want review", head.Status)
	}
	// A redelivery of a malformed message journals nothing new.
	f.handle(t, events.SQSMessage{MessageId: "d", Body: tests[3].body})
	if _, _, again := f.outcomes(t, run); len(again) != 2 {
		t.Errorf("redelivered malformed message journaled again: %d NeedsReview", len(again))
	}
}

func TestEffectsJournalDown(t *testing.T) {
	t.Parallel()
	f := newEffectsFixture(t)
	fx := internal.NewEffects(failingStore{f.store}, internal.EffectsConfig{SQS: f.sqs, Kinesis: f.kin,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	resp, err := fx.HandleSQS(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		effectMsg(t, "m1", "order/x", journal.Effect{ID: "e", Kind: "log"})}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(resp.BatchItemFailures, []events.SQSBatchItemFailure{{ItemIdentifier: "m1"}}); d != "" {
		t.Errorf("failures (-got +want):\n%s", d)
	}
}

var errDown = errors.New("journal down")

type failingStore struct{ journal.Store }

func (failingStore) Load(context.Context, string) (journal.Run, []journal.Event, error) {
	return journal.Run{}, nil, errDown
}

func TestEffectsTargets(t *testing.T) {
	t.Parallel()
	long := "order/" + strings.Repeat("k", 300)
	f := newEffectsFixture(t, "order/ord-4", long)
	msgs := []events.SQSMessage{
		effectMsg(t, "m1", "order/ord-4", journal.Effect{ID: "e1", Kind: "sqs", Target: "https://sqs.test/9/direct"}),
		effectMsg(t, "m2", "order/ord-4", journal.Effect{ID: "e2", Kind: "sqs", Target: "by-name"}),
		effectMsg(t, "m3", "order/ord-4", journal.Effect{ID: "e3", Kind: "kinesis", Target: "arn:aws:kinesis:us-east-1:123456789012:stream/s"}),
		effectMsg(t, "m4", long, journal.Effect{ID: "e4", Kind: "kinesis", Target: "s"}),
		effectMsg(t, "m5", "order/ord-4", journal.Effect{ID: "e5", Kind: "http", Target: "ftp://example.com/x"}),
		effectMsg(t, "m6", "order/ord-4", journal.Effect{ID: "e6", Kind: "sqs"}),
	}
	if d := cmp.Diff(f.handle(t, msgs...), []string{"m5", "m6"}, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("batch item failures (-got +want):\n%s", d)
	}
	var queues []string
	for _, s := range f.sqs.sent {
		queues = append(queues, s.Queue)
		if s.Body != "{}" {
			t.Errorf("empty payload sent as %q, want {}", s.Body)
		}
	}
	sort.Strings(queues)
	if d := cmp.Diff(queues, []string{"https://sqs.test//by-name", "https://sqs.test/9/direct"}); d != "" {
		t.Errorf("queues (-got +want):\n%s", d)
	}
	for _, p := range f.kin.put {
		if n := len(p.Key); n == 0 || n > 256 {
			t.Errorf("partition key of %d bytes", n)
		}
		if p.Stream != "arn:aws:kinesis:us-east-1:123456789012:stream/s" && p.Stream != "s" {
			t.Errorf("stream %q", p.Stream)
		}
	}
}

// TestEffectsLastDeliveryGoesToReview: a failure on the delivery that
// reaches the queue's maxReceiveCount is also put on the review path, naming
// the run, the effect and the error; earlier failures are not.
func TestEffectsLastDeliveryGoesToReview(t *testing.T) {
	t.Parallel()
	const run = "order/ord-9"
	f := newEffectsFixture(t, run)
	f.fx = internal.NewEffects(f.store, internal.EffectsConfig{SQS: f.sqs, Kinesis: f.kin,
		HTTPTargets: egress.MustParse("127.0.0.1"), HTTPTimeout: 5 * time.Second, MaxReceives: 3, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.fx.Executor().Attempts = 1
	f.hook.fail.Store(true)
	e := journal.Effect{ID: run + "/ship/1/0", Kind: "http", Target: f.url}
	for receives := 1; receives <= 3; receives++ {
		m := effectMsg(t, "m1", run, e)
		m.Attributes = map[string]string{"ApproximateReceiveCount": strconv.Itoa(receives)}
		if got := f.handle(t, m); len(got) != 1 {
			t.Fatalf("delivery %d: batch item failures %v, want m1 (it must reach the DLQ)", receives, got)
		}
		items, _, _ := f.store.Reviews(context.Background(), journal.ReviewQuery{Kind: journal.ReviewFailedEffect})
		if want := 0; receives == 3 {
			want = 1
			if len(items) != want || items[0].ID != "failed-effect/"+e.ID || items[0].Run != run {
				t.Fatalf("after the last delivery: review items %+v, want one for the effect", items)
			}
			if r := items[0].Reason; !strings.Contains(r, e.ID) || !strings.Contains(r, run) || !strings.Contains(r, "delivery 3") {
				t.Fatalf("review reason %q does not name the effect, the run and the delivery", r)
			}
			var got journal.Effect
			if err := json.Unmarshal(items[0].Payload, &got); err != nil || got.ID != e.ID || got.Target != e.Target {
				t.Fatalf("review payload %s (%v), want the effect", items[0].Payload, err)
			}
			if runs, _, _ := f.store.Runs(context.Background(), journal.Query{}); len(runs) != 1 || runs[0].ID != run {
				t.Fatalf("runs %+v, want only %s (a failed effect is not a run)", runs, run)
			}
		} else if len(items) != want {
			t.Fatalf("delivery %d: review items %+v, want none yet", receives, items)
		}
	}
}
