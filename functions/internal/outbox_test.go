package internal

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// crashAfterEndStore lands the first append that ends a run and then
// fails, as the process would that crashed right after that write: its
// caller never learns that the write landed, and every later write of the
// process fails until revive (a new container) is called. The journal
// holds the run's end; the handler never sends what that commit decided.
type crashAfterEndStore struct {
	*memjournal.Store
	mu      sync.Mutex
	crashed bool // the crash happened
	dead    bool // until revive
}

var errCrashedHere = errors.New("injected: the process crashed")

func (s *crashAfterEndStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	s.mu.Lock()
	dead := s.dead
	s.mu.Unlock()
	if dead {
		return 0, errCrashedHere
	}
	seq, err := s.Store.Append(ctx, c)
	if err != nil || c.Status != journal.StatusCompleted {
		return seq, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashed {
		return seq, nil
	}
	s.crashed, s.dead = true, true
	return 0, errCrashedHere
}

// revive ends the crash: the record is redelivered to a live container.
func (s *crashAfterEndStore) revive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = false
}

// effectMessages counts the effect messages sent to the effects queue.
func (f *fakeSQS) effectMessages() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, b := range f.bodies {
		if strings.Contains(b, `"effect"`) {
			n++
		}
	}
	return n
}

// TestRedeliveredRecordSendsOutboxOfSettledRun hands the orchestrator a
// record whose handling ends the run and then fails before the run's
// effects are sent (its process crashes right after the run's last commit
// lands), so the record is redelivered. The redelivery finds the run
// settled: it must still drive it, so the effects journaled and never sent
// go out and are journaled as dispatched. Before, a redelivered start found
// the run settled and did nothing, a redelivered callback completion was
// dropped as no longer awaited, and a redelivered event went to review:
// the effects were never sent.
func TestRedeliveredRecordSendsOutboxOfSettledRun(t *testing.T) {
	defs := []*workflow.Definition{
		workflow.New("approve", workflow.Key("input.id"),
			workflow.Await("wait", "approved"), workflow.Step("after", "echo", workflow.After("wait"))).MustBuild(),
		workflow.New("callback", workflow.Key("input.id"),
			workflow.Step("cb", "echo", workflow.Async()), workflow.Step("after", "echo", workflow.After("cb"))).MustBuild(),
	}
	for _, tc := range []struct {
		name    string
		prepare string // a record handled first, when set
		record  string // the record whose handling ends the run
		run     string
		effects int // effects the run journals
	}{
		{name: "start", record: `{"workflow":"greet","input":{"id":"s1"}}`, run: "greet/s1", effects: 2},
		{name: "event", prepare: `{"workflow":"approve","input":{"id":"e1"}}`,
			record: `{"ordo":"event","run":"approve/e1","name":"approved"}`, run: "approve/e1", effects: 1},
		{name: "callback completion", prepare: `{"workflow":"callback","input":{"id":"c1"}}`,
			record: `{"ordo":"complete","token":"` + testKeys.Sign(callback.Claims{Run: "callback/c1", Step: "cb", Attempt: 1}) +
				`","input":{"ok":true}}`, run: "callback/c1", effects: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crash := &crashAfterEndStore{}
			o, store, q := newTestOrchestratorOn(t, func(s journal.Store) journal.Store { crash.Store = s.(*memjournal.Store); return crash })
			ctx := context.Background()
			for _, def := range defs {
				if err := o.engine.Register(ctx, def); err != nil {
					t.Fatal(err)
				}
			}
			handle := func(id, body string) events.SQSEventResponse {
				return o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(id, body)}})
			}
			if tc.prepare != "" {
				if resp := handle("m0", tc.prepare); len(resp.BatchItemFailures) != 0 {
					t.Fatalf("%s: %+v", tc.prepare, resp)
				}
			}
			if resp := handle("m1", tc.record); len(resp.BatchItemFailures) != 1 {
				t.Fatalf("first delivery: failures %+v, want the record failed (its process crashed after the run's last commit)", resp.BatchItemFailures)
			}
			head, evs, err := store.Load(ctx, tc.run)
			if err != nil || head.Status != journal.StatusCompleted {
				t.Fatalf("run after the first delivery: %+v %v, want completed", head, err)
			}
			undispatched := tc.effects - count(evs, journal.EffectDispatched)
			if undispatched == 0 {
				t.Fatalf("every effect journaled as dispatched before the redelivery: the test injects nothing")
			}
			before := q.effectMessages()
			crash.revive()
			if resp := handle("m1", tc.record); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("redelivery failed: %+v", resp)
			}
			_, evs, _ = store.Load(ctx, tc.run)
			if n := count(evs, journal.EffectDispatched); n != tc.effects {
				t.Errorf("%d EffectDispatched journaled after the redelivery, want %d (one per effect)", n, tc.effects)
			}
			if n := q.effectMessages() - before; n != undispatched {
				t.Errorf("%d effect messages sent on the redelivery, want %d (those never sent)", n, undispatched)
			}
		})
	}
}
