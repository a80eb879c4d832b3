package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/ordoflow/ordo/bench"
)

// benchDir finds bench/ (for template.yaml) from the working directory.
func benchDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "bench", "template.yaml")); err == nil {
			return filepath.Join(dir, "bench"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("bench/template.yaml not found above the working directory: run from the repository")
		}
		dir = parent
	}
}

// dialString lists connections opened per endpoint.
func dialString(d map[string]int64) string {
	if len(d) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, fmt.Sprintf("%d to %s", d[k], k))
	}
	return strings.Join(parts, ", ")
}

// profiler returns an AWSOptions.Profile that writes, per measured phase,
// a CPU profile, block and mutex profiles (delay since the phase began),
// and a goroutine dump taken a little into the phase, into dir.
func profiler(dir string) func(phase string) func() {
	seen := map[string]int{}
	return func(phase string) func() {
		seen[phase]++
		base := filepath.Join(dir, fmt.Sprintf("%s%d", phase, seen[phase]))
		f, err := os.Create(base + ".cpu.pprof")
		if err == nil {
			if err = pprof.StartCPUProfile(f); err != nil {
				f.Close()
				f = nil
			}
		}
		runtime.SetBlockProfileRate(10000) // one blocking event per 10 µs blocked
		runtime.SetMutexProfileFraction(1)
		// Block and mutex profiles are cumulative over the process: read a
		// phase's own with go tool pprof -base X.block.base.pprof X.block.pprof.
		snapshot := func(suffix string) {
			for _, p := range []string{"block", "mutex"} {
				if g, err := os.Create(base + "." + p + suffix); err == nil {
					pprof.Lookup(p).WriteTo(g, 0)
					g.Close()
				}
			}
		}
		snapshot(".base.pprof")
		done := make(chan struct{})
		go func() {
			select {
			case <-time.After(500 * time.Millisecond):
				if g, err := os.Create(base + ".goroutines.txt"); err == nil {
					pprof.Lookup("goroutine").WriteTo(g, 1)
					g.Close()
				}
			case <-done:
			}
		}()
		return func() {
			close(done)
			if f != nil {
				pprof.StopCPUProfile()
				f.Close()
			}
			snapshot(".pprof")
			runtime.SetBlockProfileRate(0)
			runtime.SetMutexProfileFraction(0)
		}
	}
}

func awsPart(ctx context.Context, s bench.Shape, opts bench.AWSOptions) error {
	fmt.Printf("## Local AWS: engine on DynamoDB Local + kumo, steps as the real ordo-noop-step Lambda (%s)\n\n", s)
	if why := bench.StackMissing(); why != "" {
		fmt.Printf("SKIPPED: %s\n\n", why)
		return nil
	}
	dir, err := benchDir()
	if err != nil {
		return err
	}
	var log bytes.Buffer
	r, err := bench.LocalAWS(ctx, dir, s, &log, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s", log.String())
		return fmt.Errorf("local AWS: %w", err)
	}
	l := bench.Summarise(r.Ordo.Latency)
	steps := float64(s.N * s.K)
	fmt.Println("| N | K | C | runs/s | steps/s | p50 ms | p95 ms | p99 ms | raw PutItem+Invoke pairs/s | ratio | raw Invoke p50 ms |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %d | %d | %d | %.1f | %.1f | %s | %s | %s | %.1f | %.2f | %s |\n\n", s.N, s.K, s.C, r.Ordo.RunsPerSec(), r.Ordo.StepsPerSec(),
		ms(l.P50), ms(l.P95), ms(l.P99), r.Baseline.PerSec(), r.Ordo.StepsPerSec()/r.Baseline.PerSec(), ms(r.InvokeP50))
	fmt.Println("ratio = ordo step transitions/s ÷ raw (conditional PutItem + Invoke) pairs/s, same concurrency, same clients, same run;")
	fmt.Printf("raw = both raw rounds together: %.1f pairs/s before the ordo workload, %.1f after (both paths warmed up first).\n", r.Before.PerSec(), r.After.PerSec())
	idle := "SDK default (10)"
	if opts.IdleConnsPerHost > 0 {
		idle = fmt.Sprint(opts.IdleConnsPerHost)
	}
	fmt.Printf("HTTP transport MaxIdleConnsPerHost: %s; TCP connections opened: ordo %s, raw (both rounds) %s.\n\n", idle, dialString(r.Dials), dialString(r.RawDials))
	fmt.Println("| call | ordo: per step | ordo: mean ms | raw: per pair | raw: mean ms |")
	fmt.Println("|---|---|---|---|---|")
	pairs := float64(r.Baseline.Ops)
	for _, k := range slices.Sorted(maps.Keys(r.Calls.Count)) {
		fmt.Printf("| %s | %.3f | %s | %.3f | %s |\n", k, float64(r.Calls.Count[k])/steps, ms(r.Calls.Mean(k)),
			float64(r.RawCalls.Count[k])/pairs, ms(r.RawCalls.Mean(k)))
	}
	fmt.Println()
	fmt.Println("### API calls per step transition (happy path, counted by an SDK middleware)")
	fmt.Println()
	fmt.Println("| call | per step | capacity units per call |")
	fmt.Println("|---|---|---|")
	for _, k := range slices.Sorted(maps.Keys(r.Calls.Count)) {
		fmt.Printf("| %s | %.3f | %.2f |\n", k, float64(r.Calls.Count[k])/steps, r.Calls.Units[k]/float64(r.Calls.Count[k]))
	}
	fmt.Printf("| DynamoDB write units consumed | %.3f |\n", r.Calls.WCU/steps)
	fmt.Printf("| DynamoDB read units consumed | %.3f |\n\n", r.Calls.RCU/steps)
	var writes, reads, sqs float64
	for k, v := range r.Calls.Count {
		switch {
		case k == "DynamoDB.PutItem" || k == "DynamoDB.TransactWriteItems" || k == "DynamoDB.UpdateItem" || k == "DynamoDB.BatchWriteItem":
			writes += float64(v)
		case strings.HasPrefix(k, "DynamoDB."):
			reads += float64(v)
		case strings.HasPrefix(k, "SQS."):
			sqs += float64(v)
		}
	}
	fmt.Printf("Lambda invokes/step %.3f, journal writes/step %.3f, journal reads/step %.3f, SQS requests/step %.3f\n\n",
		float64(r.Calls.Count["Lambda.Invoke"])/steps, writes/steps, reads/steps, sqs/steps)
	prices, err := bench.LoadPrices()
	if err != nil {
		return err
	}
	// The orchestrator Lambda is billed while it waits on each synchronous
	// step invoke: its duration per step is the measured run latency / K.
	orchS := (float64(l.P50) / 1e9) / float64(s.K)
	wcu, rcu := r.Calls.WCU/steps, r.Calls.RCU/steps
	if wcu == 0 { // an emulator that does not report capacity: 1 unit per write of ≤1 KB
		wcu = writes / steps
	}
	u := bench.PerStep{
		Invokes: float64(r.Calls.Count["Lambda.Invoke"]) / steps,
		// One orchestrator invocation per run (its trigger message), and the
		// trigger queue's receive + delete per run (batches of 1: the worst case).
		OrchestratorInvokes: 1 / float64(s.K),
		OrchestratorS:       orchS, OrchestratorMB: 512,
		StepS: 0.001, StepMB: 256, // a no-op Go step bills the 1 ms minimum
		WriteUnits: wcu, ReadUnits: rcu,
		SQSRequests: sqs/steps + 2/float64(s.K),
	}
	c := prices.PerMillion(u)
	fmt.Printf("### Cost per million step transitions (us-east-1 list prices, bench/prices.json, checked %s)\n\n", prices.Checked)
	fmt.Printf("assumptions: orchestrator 512 MB arm64 billed %.1f ms/step (p50 run latency / K, measured locally); step 256 MB, 1 ms;\n", orchS*1e3)
	fmt.Printf("one orchestrator invoke + 2 SQS requests (receive, delete) per run for its trigger; measured WCU/RCU per step.\n\n")
	fmt.Print(c.String())
	fmt.Println()
	realAWSCost(prices, u, r.Calls.Count, steps)
	return nil
}

// realAWSCost prints the cost of u with the orchestrator billed at the
// calls counted per step priced at bench.RealAWS latencies instead of the
// emulators' (see bench.LatencyModel).
func realAWSCost(prices bench.Prices, u bench.PerStep, count map[string]int64, steps float64) {
	perStep := map[string]float64{}
	for k, v := range count {
		perStep[k] = float64(v) / steps
	}
	u.OrchestratorS = bench.RealAWS.Seconds(perStep, u.StepS)
	fmt.Printf("With the orchestrator billed at a real-AWS latency model instead (bench.RealAWS: %s; the calls counted per step, one after another, plus the 1 ms step): %.1f ms/step\n\n", bench.RealAWS, u.OrchestratorS*1e3)
	fmt.Print(prices.PerMillion(u).String())
	fmt.Println()
}
