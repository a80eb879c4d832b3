package semantictest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var mapTests = []test{
	{"OrderAndConcurrency", testMapOrder},
	{"ItemRetries", testMapItemRetries},
	{"Tolerance", testMapTolerance},
	{"Empty", testMapEmpty},
	{"TenThousandItems", testMapLarge},
}

func list(n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func testMapOrder(t *testing.T, h *Harness) {
	var inFlight, peak atomic.Int64
	h.Func("times10", func(ctx context.Context, req step.Request) (step.Result, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		x := decode[int](req)
		// Later items finish sooner, so completion order is not input order.
		time.Sleep(time.Duration(20-x%20) * 100 * time.Microsecond)
		return out(x * 10), nil
	})
	h.Define(workflow.New("fanout",
		workflow.Output("steps.m.output"),
		workflow.Map("m", "times10", "input.xs", workflow.MaxConcurrency(3)),
	), `
name: fanout
output: steps.m.output
steps:
  - name: m
    type: map
    function: times10
    items: input.xs
    maxConcurrency: 3
`)
	run := h.Start("fanout", fmt.Sprintf(`{"xs": %s}`, list(30, func(i int) string { return fmt.Sprint(i + 1) })))
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), list(30, func(i int) string { return fmt.Sprint((i + 1) * 10) }))
	if p := peak.Load(); p > 3 {
		t.Errorf("%d items ran at once, want at most maxConcurrency 3", p)
	} else if p < 2 {
		t.Logf("peak concurrency %d: the bound was not exercised", p)
	}
	// The journal agrees: at no point more than 3 items scheduled without result.
	open, most := map[int]bool{}, 0
	for _, e := range h.Events(run) {
		if e.Step != "m" || e.Index == 0 {
			continue
		}
		switch e.Kind {
		case journal.StepScheduled:
			open[e.Index] = true
		case journal.StepSucceeded, journal.StepFailed:
			delete(open, e.Index)
		}
		most = max(most, len(open))
	}
	if most > 3 {
		t.Errorf("the journal has %d items in flight at once, want at most 3", most)
	}

	// Items see `item` and `index` in their input mapping.
	h.Func("echo", func(ctx context.Context, req step.Request) (step.Result, error) {
		return step.Result{Output: req.Input}, nil
	})
	h.Define(workflow.New("fanout-input",
		workflow.Output("steps.m.output"),
		workflow.Map("m", "echo", "input.xs", workflow.Input(`{"i": index, "v": item, "tag": input.tag}`)),
	), `
name: fanout-input
output: steps.m.output
steps:
  - {name: m, type: map, function: echo, items: input.xs, input: '{"i": index, "v": item, "tag": input.tag}'}
`)
	run = h.Start("fanout-input", `{"xs": ["a", "b"], "tag": "t"}`)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `[{"i":0,"v":"a","tag":"t"},{"i":1,"v":"b","tag":"t"}]`)
}

func testMapItemRetries(t *testing.T, h *Harness) {
	h.Func("picky", func(ctx context.Context, req step.Request) (step.Result, error) {
		x := decode[int](req)
		if x == 3 && req.Attempt == 1 {
			return step.Result{}, errors.New("item 3 flaked")
		}
		if req.Index != x {
			return step.Result{}, step.Terminal(fmt.Errorf("item %d has index %d", x, req.Index))
		}
		return out(x), nil
	})
	h.Define(workflow.New("mapretry",
		workflow.Output("steps.m.output"),
		workflow.Map("m", "picky", "input.xs",
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(ms)})),
	), `
name: mapretry
output: steps.m.output
steps:
  - name: m
    type: map
    function: picky
    items: input.xs
    retry: {maxAttempts: 2, initialInterval: 1ms}
`)
	run := h.Start("mapretry", `{"xs": [1, 2, 3, 4]}`)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `[1, 2, 3, 4]`)
	var item3 []attempt
	for _, a := range attempts(h.Events(run), "m") {
		if a.Index == 3 {
			item3 = append(item3, a)
		}
	}
	want := []attempt{
		{Kind: journal.StepScheduled, Step: "m", Attempt: 1, Index: 3},
		{Kind: journal.StepFailed, Step: "m", Attempt: 1, Index: 3},
		{Kind: journal.RetryScheduled, Step: "m", Attempt: 2, Index: 3},
		{Kind: journal.StepScheduled, Step: "m", Attempt: 2, Index: 3},
		{Kind: journal.StepSucceeded, Step: "m", Attempt: 2, Index: 3},
	}
	if diff := cmp.Diff(item3, want); diff != "" {
		h.Dump(run)
		t.Errorf("item 3 (-got +want):\n%s", diff)
	}
}

func testMapTolerance(t *testing.T, h *Harness) {
	// Items listed in input.bad fail terminally.
	h.Func("some-fail", func(ctx context.Context, req step.Request) (step.Result, error) {
		in := decode[struct {
			X   int   `json:"x"`
			Bad []int `json:"bad"`
		}](req)
		for _, b := range in.Bad {
			if b == in.X {
				return step.Result{}, step.Terminal(fmt.Errorf("item %d is bad", in.X))
			}
		}
		return out(in.X), nil
	})
	for _, tc := range []struct {
		name    string
		n       int
		percent float64
		yamlTol string
		status  journal.Status
	}{
		{"WithinCount", 2, 0, "toleratedFailures: 2", journal.StatusCompleted},
		{"PastCount", 1, 0, "toleratedFailures: 1", journal.StatusReview},
		{"WithinPercent", 0, 20, "toleratedFailurePercent: 20", journal.StatusCompleted},
		{"PastPercent", 0, 19, "toleratedFailurePercent: 19", journal.StatusReview},
		{"None", 0, 0, "", journal.StatusReview},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			name := "tolerate-" + strings.ToLower(tc.name)
			h.Define(workflow.New(name,
				workflow.Output("steps.m.output"),
				workflow.Map("m", "some-fail", "input.xs", workflow.Input(`{"x": item, "bad": input.bad}`),
					workflow.Tolerate(tc.n, tc.percent), workflow.MaxConcurrency(4)),
			), fmt.Sprintf(`
name: %s
output: steps.m.output
steps:
  - name: m
    type: map
    function: some-fail
    items: input.xs
    input: '{"x": item, "bad": input.bad}'
    maxConcurrency: 4
    %s
`, name, tc.yamlTol))
			run := h.Start(name, `{"xs": [1,2,3,4,5,6,7,8,9,10], "bad": [2, 5]}`)
			h.Wait(run, tc.status)
			events := h.Events(run)
			if got := count(events, journal.ItemFailed, "m"); tc.status == journal.StatusCompleted && got != 2 {
				t.Errorf("%d ItemFailed events, want 2", got)
			}
			if tc.status == journal.StatusCompleted {
				jsonEq(t, "output", h.Output(run), `[1,null,3,4,null,6,7,8,9,10]`)
				return
			}
			r := filter(events, func(e journal.Event) bool { return e.Kind == journal.NeedsReview })
			if len(r) != 1 || r[0].Step != "m" || r[0].Error == nil || r[0].Error.Kind != "map" {
				h.Dump(run)
				t.Errorf("want one NeedsReview for step m with error kind map, got %+v", r)
			}
		})
	}
}

func testMapEmpty(t *testing.T, h *Harness) {
	var calls atomic.Int64
	h.Func("never", func(ctx context.Context, req step.Request) (step.Result, error) {
		calls.Add(1)
		return out(1), nil
	})
	h.Define(workflow.New("empty",
		workflow.Output(`{"m": steps.m.output, "after": steps.next.output}`),
		workflow.Map("m", "never", "input.xs"),
		workflow.Pass("next", `size(steps.m.output)`, workflow.After("m")),
	), `
name: empty
output: '{"m": steps.m.output, "after": steps.next.output}'
steps:
  - {name: m, type: map, function: never, items: input.xs}
  - {name: next, type: pass, after: [m], output: size(steps.m.output)}
`)
	run := h.Start("empty", `{"xs": []}`)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `{"m": [], "after": 0}`)
	if n := calls.Load(); n != 0 {
		t.Errorf("the function ran %d times for an empty list", n)
	}
}

func testMapLarge(t *testing.T, h *Harness) {
	const n = 10000
	h.Func("noop", func(ctx context.Context, req step.Request) (step.Result, error) {
		return step.Result{Output: req.Input}, nil
	})
	h.Define(workflow.New("large",
		workflow.Output(`{"n": size(steps.m.output), "last": steps.m.output[9999]}`),
		workflow.Map("m", "noop", "input.xs", workflow.MaxConcurrency(500)),
	), `
name: large
output: '{"n": size(steps.m.output), "last": steps.m.output[9999]}'
steps:
  - {name: m, type: map, function: noop, items: input.xs, maxConcurrency: 500}
`)
	xs, _ := json.Marshal(func() []int {
		v := make([]int, n)
		for i := range v {
			v[i] = i
		}
		return v
	}())
	start := time.Now()
	run := h.Start("large", `{"xs": `+string(xs)+`}`)
	h.Wait(run, journal.StatusCompleted)
	t.Logf("map over %d items: %s", n, time.Since(start).Round(time.Millisecond))
	jsonEq(t, "output", h.Output(run), fmt.Sprintf(`{"n": %d, "last": %d}`, n, n-1))
}
