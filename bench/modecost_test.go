package bench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/bench"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var modeCostFull = flag.Bool("modecost.full", false, "TestModeCost: steps of 1 ms, 100 ms and 1 s, 20 runs of 3 steps each (make bench)")

// TestModeCost measures the orchestration cost of synchronous and
// asynchronous step invokes on the local AWS stack (bench.ModeCost: the
// real template.yaml, the real bootstraps, a nap step of a team's stack)
// and prices it per million transitions (bench.RealAWS, prices.json).
// Short form (go test ./bench/): 1 ms steps, 4 runs of 2 steps. Full
// (make bench, -modecost.full): 1 ms, 100 ms and 1 s, 20 runs of 3 steps;
// docs/SCALING.md records it. It checks what the mode must change: with
// asynchronous invokes the orchestrator makes an Event invoke per
// transition and is billed no step time; with synchronous ones it is.
func TestModeCost(t *testing.T) {
	if why := bench.StackMissing(); why != "" {
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	o := bench.ModeCostOptions{Runs: 4, K: 2, Steps: []time.Duration{time.Millisecond}}
	if *modeCostFull {
		o = bench.ModeCostOptions{Runs: 20, K: 3, Steps: []time.Duration{time.Millisecond, 100 * time.Millisecond, time.Second}}
	}
	if testing.Verbose() && os.Getenv("ORDO_BENCH_VERBOSE") != "" {
		o.Log = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	repo, _ := filepath.Abs("..")
	p, err := bench.LoadPrices()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := bench.ModeCost(ctx, repo, o)
	if err != nil {
		t.Fatal(err)
	}
	// On a loaded machine an attempt now and then waits out its lease and
	// is invoked again (seen in async mode, cause not yet known): such a
	// measurement does not price the mode. It is shown, and taken once
	// more; a second one off too fails the test.
	if off := offInvokes(rows); off != "" {
		var b strings.Builder
		bench.WriteModeCost(&b, p, rows)
		t.Logf("measured again: %s\n%s", off, b.String())
		if rows, err = bench.ModeCost(ctx, repo, o); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	bench.WriteModeCost(&b, p, rows)
	t.Logf("%d runs of %d steps per configuration\n%s", o.Runs, o.K, b.String())
	if off := offInvokes(rows); off != "" {
		t.Error(off)
	}
	for _, r := range rows {
		// Every write consumes at least one unit: fewer means the units
		// were not counted, and DynamoDB is priced low.
		writes := r.Calls["DynamoDB.PutItem"] + r.Calls["DynamoDB.UpdateItem"] + r.Calls["DynamoDB.DeleteItem"]
		if r.WriteUnits < float64(writes) {
			t.Errorf("%s %s: %.0f DynamoDB write units counted for %d writes", r.Mode, r.Step, r.WriteUnits, writes)
		}
		c := r.Price(p)
		switch r.Mode {
		case workflow.InvokeSync:
			if c.BilledAlone < r.Step {
				t.Errorf("sync %s: billed %s per transition, less than the step", r.Step, c.BilledAlone)
			}
		case workflow.InvokeAsync:
			if r.Step >= 100*time.Millisecond && c.BilledAlone >= r.Step {
				t.Errorf("async %s: billed %s per transition: the orchestrator waited for the step", r.Step, c.BilledAlone)
			}
			if r.Records < r.Results {
				t.Errorf("async %s: the orchestrator received %d messages, fewer than the %d results", r.Step, r.Records, r.Results)
			}
		}
	}
}

// offInvokes names the first row whose Lambda invokes per transition are
// not about 1 ("" when none).
func offInvokes(rows []bench.ModeCostRow) string {
	for _, r := range rows {
		invokes := float64(r.Calls["Lambda.Invoke"]) / float64(r.Transitions)
		if invokes < 0.99 || invokes > 1.2 {
			return fmt.Sprintf("%s %s: %.2f Lambda invokes per transition, want about 1", r.Mode, r.Step, invokes)
		}
	}
	return ""
}
