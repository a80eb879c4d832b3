package orchestrator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

const (
	testCard   = "4929123412341234"
	testToken2 = "tok_live_5f3c9a"
	testSecret = "s3cr3t-state-value"
)

// payDef declares a card in its input, a token in a step's output and a
// state field sensitive; "later" echoes what it gets.
var payDef = workflow.New("pay",
	workflow.Key("input.id"),
	workflow.DefaultRetryPolicy(fastRetry),
	workflow.Sensitive("input.card", "steps.charge.output.token", "state.secret"),
	workflow.Step("charge", "fcharge", workflow.Input(`{"id": input.id, "card": input.card}`), workflow.Effects("email")),
	workflow.Step("later", "flater", workflow.After("charge"),
		workflow.Input(`{"token": steps.charge.output.token, "state": state, "card": input.card}`)),
	workflow.Await("confirm", "confirmed", workflow.After("later")),
).MustBuild()

var payDefWithEvent = workflow.New("payev",
	workflow.Key("input.id"),
	workflow.Sensitive("steps.confirm.output.pin"),
	workflow.Await("confirm", "confirmed"),
).MustBuild()

// payHarness records what the steps received.
type payHarness struct {
	mu   sync.Mutex
	got  map[string][]step.Request
	fail bool // later fails quoting its input
}

func (h *payHarness) invoker() orchestrator.Invoker {
	return handlers(map[string]step.HandlerFunc{
		"fcharge": func(_ context.Context, req step.Request) (step.Result, error) {
			h.record(req)
			return step.Result{Output: json.RawMessage(fmt.Sprintf(`{"token":%q,"last4":"1234"}`, testToken2)),
				State: json.RawMessage(fmt.Sprintf(`{"secret":%q,"paid":true}`, testSecret)),
				Effects: []step.Effect{{Kind: "email", Target: "a@example.com",
					Payload: json.RawMessage(fmt.Sprintf(`{"card":%q}`, testCard))}}}, nil
		},
		"flater": func(_ context.Context, req step.Request) (step.Result, error) {
			h.record(req)
			if h.fail {
				return step.Result{}, step.Terminal(fmt.Errorf("cannot use %s", req.Input))
			}
			return step.Result{Output: req.Input}, nil
		},
	})
}

func (h *payHarness) record(req step.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.got == nil {
		h.got = map[string][]step.Request{}
	}
	h.got[req.Step] = append(h.got[req.Step], req)
}

func (h *payHarness) last(stepName string) step.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.got[stepName]
	return r[len(r)-1]
}

// journalBytes is every event of run as stored JSON.
func journalBytes(t *testing.T, store journal.Store, run string) []byte {
	t.Helper()
	_, events := load(t, store, run)
	return mustEncode(t, events)
}

func assertNoClear(t *testing.T, where string, b []byte) {
	t.Helper()
	for _, clear := range []string{testCard, testToken2, testSecret} {
		if bytes.Contains(b, []byte(clear)) {
			t.Errorf("%s holds the clear value %q", where, clear)
		}
	}
}

func TestSensitiveValuesSealedInJournalClearForSteps(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	h := &payHarness{}
	e := newEngine(t, store, h.invoker(), payDef, orchestrator.WithSealer(localkey.Random()))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "pay", Input: json.RawMessage(`{"id":"p1","card":"` + testCard + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Drive(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != journal.StatusWaiting && out.Status != journal.StatusRunning {
		t.Fatalf("status %s, want waiting for the event", out.Status)
	}
	raw := journalBytes(t, store, st.Run)
	assertNoClear(t, "the journal", raw)
	if !bytes.Contains(raw, []byte(sensitive.Field)) {
		t.Fatal("the journal holds no envelope")
	}
	// The steps got clear values.
	if got := string(h.last("charge").Input); !strings.Contains(got, testCard) {
		t.Errorf("charge got input %s, want the clear card", got)
	}
	later := h.last("later")
	for _, want := range []string{testToken2, testSecret, testCard} {
		if !bytes.Contains(later.Input, []byte(want)) && !bytes.Contains(later.State, []byte(want)) {
			t.Errorf("later got input %s state %s, want %q in clear", later.Input, later.State, want)
		}
	}
	// The effect's payload held the card in clear from the step: it is
	// sealed in the journal, and in Outcome.Effects.
	for _, ef := range out.Effects {
		assertNoClear(t, "effect "+ef.ID, ef.Payload)
	}
}

func TestSensitiveErrorMessageScrubbed(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	h := &payHarness{fail: true}
	e := newEngine(t, store, h.invoker(), payDef)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "pay", Input: json.RawMessage(`{"id":"p2","card":"` + testCard + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusReview {
		t.Fatalf("status %s, want review", out.Status)
	}
	raw := journalBytes(t, store, st.Run)
	assertNoClear(t, "the journal", raw)
	if !bytes.Contains(raw, []byte(sensitive.Redacted)) {
		t.Errorf("the failure message does not say [redacted]: %s", raw)
	}
}

func TestSensitiveWrongKeyGoesToReviewNamingIt(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	h := &payHarness{}
	first := localkey.Random()
	a := newEngine(t, store, h.invoker(), payDef, orchestrator.WithSealer(first))
	st, err := a.Start(ctx, orchestrator.StartRequest{Workflow: "pay", Input: json.RawMessage(`{"id":"p3","card":"` + testCard + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	// Another process with another key drives it.
	b := newEngine(t, store, h.invoker(), payDef, orchestrator.WithSealer(localkey.Random()))
	if out := driveToEnd(t, ctx, b, st.Run); out.Status != journal.StatusReview {
		t.Fatalf("status %s, want review", out.Status)
	}
	_, events := load(t, store, st.Run)
	var failed *journal.Error
	for _, ev := range events {
		if ev.Kind == journal.StepFailed {
			failed = ev.Error
		}
	}
	if failed == nil || failed.Kind != step.KindKey || !strings.Contains(failed.Message, first.Current()) {
		t.Fatalf("failure %+v, want kind %q naming key %s", failed, step.KindKey, first.Current())
	}
	if len(h.got["charge"]) != 0 {
		t.Fatalf("charge was invoked %d times with values that do not open", len(h.got["charge"]))
	}
}

func TestSensitiveOldKeysStillOpen(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	h := &payHarness{}
	oldKey, newKey := localkey.NewKey(), localkey.NewKey()
	old, _ := localkey.New(oldKey)
	a := newEngine(t, store, h.invoker(), payDef, orchestrator.WithSealer(old))
	st, err := a.Start(ctx, orchestrator.StartRequest{Workflow: "pay", Input: json.RawMessage(`{"id":"p4","card":"` + testCard + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := localkey.New(newKey, oldKey)
	b := newEngine(t, store, h.invoker(), payDef, orchestrator.WithSealer(rotated))
	if _, err := b.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	if got := string(h.last("charge").Input); !strings.Contains(got, testCard) {
		t.Fatalf("charge got %s after a rotation, want the clear card", got)
	}
	raw := journalBytes(t, store, st.Run)
	if !bytes.Contains(raw, []byte(":"+rotated.Current()+":")) || !bytes.Contains(raw, []byte(":"+old.Current()+":")) {
		t.Errorf("want values sealed under both the old key (input) and the new one (results)")
	}
}

func TestSensitiveSignalPayloadSealed(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	e := newEngine(t, store, handlers(nil), payDefWithEvent)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "payev", Input: json.RawMessage(`{"id":"e1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Signal(ctx, st.Run, "confirmed", json.RawMessage(`{"pin":"`+testSecret+`","ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
		t.Fatalf("status %s", out.Status)
	}
	assertNoClear(t, "the journal", journalBytes(t, store, st.Run))
}

func TestSensitiveResubmitKeepsRedactedValuesSealed(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	h := &payHarness{fail: true}
	e := newEngine(t, store, h.invoker(), payDef)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "pay", Input: json.RawMessage(`{"id":"p5","card":"` + testCard + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	driveToEnd(t, ctx, e, st.Run)
	// The operator saw later's input redacted, edits one field and types
	// a new value where a sealed one was.
	h.mu.Lock()
	h.fail = false
	h.mu.Unlock()
	edited := `{"token":"[redacted]","card":"` + testSecret + `","state":{"secret":"[redacted]","paid":true}}`
	if _, err := e.Resubmit(ctx, orchestrator.Resubmission{Run: st.Run, By: "op", Step: "later", Input: json.RawMessage(edited),
		State: json.RawMessage(`{"secret":"` + testSecret + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	assertNoClear(t, "the journal", journalBytes(t, store, st.Run))
	got := h.last("later")
	if !bytes.Contains(got.Input, []byte(testToken2)) || !bytes.Contains(got.Input, []byte(testSecret)) {
		t.Fatalf("later got %s after the resubmit, want the original token and the new value in clear", got.Input)
	}
}

func TestSensitiveStartFailsWhenSealingFails(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	e := newEngine(t, store, handlers(nil), payDef, orchestrator.WithSealer(brokenSealer{}))
	_, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "pay", Input: json.RawMessage(`{"id":"p6","card":"` + testCard + `"}`)})
	if !errors.Is(err, sensitive.ErrKey) {
		t.Fatalf("Start = %v, want sensitive.ErrKey", err)
	}
	if _, _, err := store.Load(ctx, "pay/p6"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("a start that could not seal was journaled: %v", err)
	}
}

type brokenSealer struct{}

func (brokenSealer) Seal(context.Context, []byte) (string, error) {
	return "", fmt.Errorf("%w: the key service refused", sensitive.ErrKey)
}
func (brokenSealer) Open(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: the key service refused", sensitive.ErrKey)
}

// partsStore records the snapshot parts written.
type partsStore struct {
	*memjournal.Store
	mu      sync.Mutex
	written [][]byte
}

func (s *partsStore) PutSnapshotPart(ctx context.Context, run, key string, data []byte) error {
	s.mu.Lock()
	s.written = append(s.written, bytes.Clone(data))
	s.mu.Unlock()
	return s.Store.PutSnapshotPart(ctx, run, key, data)
}

// Snapshots and their parts hold sensitive values as the journal does:
// sealed. A cold engine that loads the run from them finishes it.
func TestSensitiveValuesSealedInSnapshotParts(t *testing.T) {
	ctx := testContext(t)
	store := &partsStore{Store: memjournal.New()}
	key := localkey.Random()
	h := &payHarness{}
	e := newEngine(t, store, h.invoker(), payDef, orchestrator.WithSealer(key))
	orchestrator.SetPartMin(e, 1)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "pay", Input: json.RawMessage(`{"id":"p1","card":"` + testCard + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteSnapshot(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	_, snap, err := store.LatestSnapshot(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	assertNoClear(t, "the snapshot", snap)
	if len(store.written) < 2 {
		t.Fatalf("%d parts written, want the run's input and the steps' payloads", len(store.written))
	}
	all := bytes.Join(append(store.written, snap), nil)
	for i, p := range store.written {
		assertNoClear(t, fmt.Sprintf("snapshot part %d", i), p)
	}
	if !bytes.Contains(all, []byte(sensitive.Field)) {
		t.Fatal("the snapshot and its parts hold no envelope")
	}
	cold := newEngine(t, store, h.invoker(), payDef, orchestrator.WithSealer(key))
	if _, err := cold.Signal(ctx, st.Run, "confirmed", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if out := driveToEnd(t, ctx, cold, st.Run); out.Status != journal.StatusCompleted {
		t.Fatalf("cold engine: status %s", out.Status)
	}
	_, events := load(t, store.Store, st.Run)
	assertNoClear(t, "the run's output", events[len(events)-1].Output)
}
