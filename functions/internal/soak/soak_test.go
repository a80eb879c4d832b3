// Package soak_test drives many order runs through the embedded runtime and
// through the Lambdas' wiring with random faults and every message
// delivered up to three times, out of order, and checks what a team
// running payments needs: every run settles, nothing journaled is lost or
// doubled, each step attempt is invoked once, each effect reaches a
// de-duplicating receiver, every settled run is in its status listing.
//
// ORDO_SOAK_RUNS sets the number of runs per runtime (default 100, the
// short form `make test` runs; `make soak` runs 1,000).
package soak_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

// runs is the number of order runs per runtime.
func runs(t *testing.T) int {
	n := 100
	if s := os.Getenv("ORDO_SOAK_RUNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			t.Fatalf("ORDO_SOAK_RUNS=%q: want a positive number of runs", s)
		}
		n = v
	}
	return n
}

// seed makes a soak repeatable: ORDO_SOAK_SEED, or the clock (logged).
func seed(t *testing.T) uint64 {
	if s := os.Getenv("ORDO_SOAK_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ORDO_SOAK_SEED=%q: %v", s, err)
		}
		return v
	}
	v := uint64(time.Now().UnixNano())
	t.Logf("seed %d (ORDO_SOAK_SEED=%d repeats this soak)", v, v)
	return v
}

// counter counts step invocations by attempt, in the step handler.
type counter struct {
	mu sync.Mutex
	n  map[lambdatest.Attempt]int
}

func (c *counter) add(req step.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[lambdatest.Attempt{Run: req.Run, Step: req.Step, Attempt: req.Attempt, Index: req.Index, Compensation: req.Compensation}]++
}

func (c *counter) counts() map[lambdatest.Attempt]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[lambdatest.Attempt]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// countingRegistry is the OMS step registry with each handler counting its
// invocations; before and after, when set, run around each one.
func countingRegistry(c *counter, before, after func(step.Request) error) *step.Registry {
	base := step.NewRegistry()
	workflows.Register(base)
	reg := step.NewRegistry()
	for _, name := range base.Names() {
		h, _ := base.Lookup(name)
		reg.Register(name, step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
			if before != nil {
				if err := before(req); err != nil {
					return step.Result{}, err
				}
			}
			c.add(req)
			res, err := h.Handle(ctx, req)
			if after != nil {
				if err := after(req); err != nil {
					return step.Result{}, err
				}
			}
			return res, err
		}))
	}
	return reg
}

// receiver is a de-duplicating effect receiver: it applies each effect id
// once and counts deliveries.
type receiver struct {
	mu         sync.Mutex
	deliveries map[string]int
}

func (r *receiver) Do(_ context.Context, _ string, e journal.Effect) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries[e.ID]++ // applied on the first, ignored after
	return nil
}

func (r *receiver) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.deliveries))
	for k, v := range r.deliveries {
		out[k] = v
	}
	return out
}

var _ effect.Handler = (*receiver)(nil)

// order is one soaked order: its run and the status it must settle in.
type order struct {
	run  string
	want journal.Status
}

// orders returns the n sample orders' inputs and expectations: the
// declined test card goes to review, every other order completes.
func orders(n int) ([]json.RawMessage, []order) {
	inputs := make([]json.RawMessage, n)
	out := make([]order, n)
	for i := range n {
		inputs[i] = workflows.SampleOrder(i)
		var o struct {
			OrderID string `json:"orderId"`
		}
		_ = json.Unmarshal(inputs[i], &o)
		out[i] = order{run: "order/" + o.OrderID, want: journal.StatusCompleted}
		if i%workflows.SampleDeclinedEvery == workflows.SampleDeclinedEvery-1 {
			out[i].want = journal.StatusReview
		}
	}
	return inputs, out
}

// settle polls until every order's run settled, or the deadline passes.
func settle(ctx context.Context, t *testing.T, store journal.Store, os []order, within time.Duration) map[string]journal.Run {
	t.Helper()
	deadline := time.Now().Add(within)
	heads := map[string]journal.Run{}
	for {
		pending := 0
		for _, o := range os {
			if h, ok := heads[o.run]; ok && settled(h.Status) {
				continue
			}
			h, _, err := store.Load(ctx, o.run)
			if err == nil {
				heads[o.run] = h
			}
			if err != nil || !settled(h.Status) {
				pending++
			}
		}
		if pending == 0 {
			return heads
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d runs not settled after %s", pending, len(os), within)
			return heads
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func settled(s journal.Status) bool { return s.Terminal() || s == journal.StatusReview }

// report is what a soak measured.
type report struct {
	Runtime                string
	Runs                   int
	Completed, Review      int
	Attempts, Invocations  int
	Reinvoked              []string // attempts not invoked exactly once (lease expiries aside)
	Expired                int      // attempts whose lease expired
	Effects, EffectDeliver int
	Faults                 *lambdatest.Faults
	Duplicates             int // messages (or starts) delivered more than once
	Problems               []string
	Elapsed                time.Duration
}

func (r *report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *report) String() string {
	ipa := 0.0
	if r.Attempts > 0 {
		ipa = float64(r.Invocations) / float64(r.Attempts)
	}
	return fmt.Sprintf("soak %s: %d runs in %s (%d completed, %d review); faults injected %d (%s); duplicate deliveries %d; "+
		"attempts %d, invocations %d (%.3f per attempt; %d leases expired; %d attempts invoked other than once); effects %d, deliveries %d; problems %d",
		r.Runtime, r.Runs, r.Elapsed.Round(time.Millisecond), r.Completed, r.Review, r.Faults.Total(), r.Faults, r.Duplicates,
		r.Attempts, r.Invocations, ipa, r.Expired, len(r.Reinvoked), r.Effects, r.EffectDeliver, len(r.Problems))
}

// check verifies the journal of every run against the invocation counts
// and the receiver, and the status listings.
func check(ctx context.Context, t *testing.T, store journal.Store, os []order, heads map[string]journal.Run,
	invocations map[lambdatest.Attempt]int, recv *receiver, rep *report) {
	t.Helper()
	delivered := recv.snapshot()
	scheduled := map[lambdatest.Attempt]int{}
	expired := map[lambdatest.Attempt]bool{}
	for _, o := range os {
		h := heads[o.run]
		switch h.Status {
		case journal.StatusCompleted:
			rep.Completed++
		case journal.StatusReview:
			rep.Review++
		}
		if h.Status != o.want {
			rep.problem("run %s settled %q, want %q", o.run, h.Status, o.want)
		}
		_, events, err := store.Load(ctx, o.run)
		if err != nil {
			rep.problem("load %s: %v", o.run, err)
			continue
		}
		if why, ok := crashedToReview(events); ok {
			rep.problem("run %s sent to review by process crashes alone (reclaims): %s", o.run, why)
		}
		checkJournal(o.run, events, scheduled, expired, delivered, rep)
	}
	for a, n := range scheduled {
		rep.Attempts++
		got := invocations[a]
		rep.Invocations += got
		switch {
		case expired[a] && got <= 1:
			// Its driver died before or after invoking it: the lease ran
			// out and the attempt failed; a new attempt took over.
			rep.Expired++
		case got != 1:
			rep.Reinvoked = append(rep.Reinvoked, fmt.Sprintf("%s: %d invocations (scheduled %d times, lease expired: %v)", a, got, n, expired[a]))
		}
	}
	for a, n := range invocations {
		if scheduled[a] == 0 {
			rep.problem("attempt %s invoked %d times but never journaled as scheduled", a, n)
		}
	}
	sort.Strings(rep.Reinvoked)
	for _, s := range rep.Reinvoked {
		rep.problem("attempt %s (want 1, or at most 1 if its lease expired)", s)
	}
	for _, n := range delivered {
		rep.EffectDeliver += n
	}
	checkListings(ctx, store, os, heads, rep)
}

type attemptKey = lambdatest.Attempt

// checkJournal checks one run's journal: one StepScheduled and at most one
// result per attempt, a result for every attempt of a settled run, one
// terminal event, and each journaled effect delivered and journaled as
// done exactly once.
func checkJournal(run string, events []journal.Event, scheduled map[attemptKey]int, expired map[attemptKey]bool,
	delivered map[string]int, rep *report) {
	results := map[attemptKey]int{}
	effectsDone := map[string]int{}
	var effects []string
	ends := 0
	for _, e := range events {
		a := attemptKey{Run: run, Step: e.Step, Attempt: e.Attempt, Index: e.Index, Compensation: e.Compensation}
		switch e.Kind {
		case journal.StepScheduled:
			scheduled[a]++
		case journal.StepSucceeded, journal.StepFailed:
			results[a]++
			for _, ef := range e.Effects {
				effects = append(effects, ef.ID)
			}
			if e.Kind == journal.StepFailed && leaseExpired(e.Error) {
				expired[a] = true
			}
		case journal.EffectSucceeded:
			effectsDone[e.EffectID]++
		case journal.RunCompleted, journal.RunFailed:
			ends++
		}
	}
	for a, n := range scheduled {
		if a.Run != run {
			continue
		}
		if n != 1 {
			rep.problem("%s: StepScheduled journaled %d times, want 1", a, n)
		}
		if results[a] != 1 {
			rep.problem("%s: %d results journaled, want 1", a, results[a])
		}
	}
	for a := range results {
		if scheduled[a] == 0 {
			rep.problem("%s: a result without its StepScheduled", a)
		}
	}
	if ends > 1 {
		rep.problem("%s: %d run endings journaled", run, ends)
	}
	slices.Sort(effects)
	if d := slices.Compact(slices.Clone(effects)); len(d) != len(effects) {
		rep.problem("%s: an effect id journaled twice in %v", run, effects)
	}
	for _, id := range effects {
		rep.Effects++
		if delivered[id] == 0 {
			rep.problem("%s: effect %s journaled but never delivered", run, id)
		}
		if effectsDone[id] != 1 {
			rep.problem("%s: effect %s journaled as done %d times, want 1", run, id, effectsDone[id])
		}
	}
}

// crashedToReview reports whether the run's last review was caused by
// reclaims (its steps' processes crashing), which must never happen in a
// soak: a crash costs a reclaim, not a retry, and the soak's crash rates
// are far below MaxReclaims per step.
func crashedToReview(events []journal.Event) (string, bool) {
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Kind == journal.NeedsReview {
			return e.Reason, e.Error != nil && e.Error.Kind == step.KindLease
		}
	}
	return "", false
}

// leaseExpired reports whether a failure is an attempt's lease running out
// (or being reclaimed from a driver known to be gone).
func leaseExpired(e *journal.Error) bool {
	return e != nil && (e.Kind == step.KindLease || e.Kind == step.KindTimeout && strings.Contains(e.Message, "lease expired"))
}

// checkListings checks that every settled run is in its status listing.
func checkListings(ctx context.Context, store journal.Store, os []order, heads map[string]journal.Run, rep *report) {
	listed := map[string]journal.Status{}
	for _, status := range []journal.Status{journal.StatusCompleted, journal.StatusReview} {
		cursor := ""
		for {
			page, next, err := store.Runs(ctx, journal.Query{Workflow: "order", Status: status, Cursor: cursor, Limit: 500})
			if err != nil {
				rep.problem("list %s runs: %v", status, err)
				break
			}
			for _, r := range page {
				listed[r.ID] = status
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	for _, o := range os {
		if s := heads[o.run].Status; settled(s) && listed[o.run] != s {
			rep.problem("run %s is %s but listed as %q", o.run, s, listed[o.run])
		}
	}
}

// finish logs the report, prints its line for `make soak`, and fails the
// test with its problems, logging the journal of the first runs named in
// them.
func finish(ctx context.Context, t *testing.T, store journal.Store, rep *report) {
	t.Helper()
	fmt.Println(rep.String())
	dumped := map[string]bool{}
	for _, p := range rep.Problems {
		run, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(p, "attempt "), "run "), " ")
		run = strings.TrimSuffix(run, ":")
		if len(dumped) == 3 || dumped[run] {
			continue
		}
		dumped[run] = true
		if _, events, err := store.Load(ctx, run); err == nil {
			t.Logf("journal of %s:", run)
			for _, e := range events {
				t.Logf("  %3d %-16s %s#%d[%d] comp=%v effect=%s effects=%d err=%v due=%s", e.Seq, e.Kind, e.Step, e.Attempt,
					e.Index, e.Compensation, e.EffectID, len(e.Effects), e.Error, e.Due.Format("15:04:05.000"))
			}
		}
	}
	for i, p := range rep.Problems {
		if i == 20 {
			t.Errorf("... and %d more problems", len(rep.Problems)-20)
			break
		}
		t.Error(p)
	}
}

// joinKinds lists fault kinds for logs.
func joinKinds(ks []lambdatest.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// awaitEffects polls until every effect the orders' runs journaled has
// reached the receiver and its outcome is journaled (effects are sent
// after the commit that journals them), or the deadline passes; the checks
// then name what is missing.
func awaitEffects(ctx context.Context, t *testing.T, store journal.Store, os []order, recv *receiver, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	done := map[string]bool{}
	for time.Now().Before(deadline) {
		delivered := recv.snapshot()
		pending := 0
		for _, o := range os {
			if done[o.run] {
				continue
			}
			_, events, err := store.Load(ctx, o.run)
			if err != nil || !effectsDone(events, delivered) {
				pending++
				continue
			}
			done[o.run] = true
		}
		if pending == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// effectsDone reports whether every effect in events was delivered and
// journaled as done.
func effectsDone(events []journal.Event, delivered map[string]int) bool {
	want := map[string]bool{}
	for _, e := range events {
		switch e.Kind {
		case journal.StepSucceeded, journal.StepFailed:
			for _, ef := range e.Effects {
				want[ef.ID] = true
			}
		case journal.EffectSucceeded:
			delete(want, e.EffectID)
		}
	}
	if len(want) > 0 {
		return false
	}
	for _, e := range events {
		for _, ef := range e.Effects {
			if delivered[ef.ID] == 0 {
				return false
			}
		}
	}
	return true
}
