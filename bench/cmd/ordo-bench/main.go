// Command ordo-bench measures ordo and prints a table: the embedded runtime
// on a durable SQLite journal against raw durable SQLite appends, the same
// shape through the engine on the local AWS stack against raw PutItem +
// Invoke, API calls and cost per step transition, and scaling charts.
//
//	go run ./bench/cmd/ordo-bench -n 500 -k 1,5,20 -c 50 -parts embedded,scaling,decide,aws -charts docs/bench
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordoflow/ordo/bench"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ordo-bench:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a list of positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func run() error {
	n := flag.Int("n", 500, "runs per workload")
	kList := flag.String("k", "1,5,20", "steps per run (comma-separated)")
	c := flag.Int("c", 50, "concurrent starters")
	cList := flag.String("scale-c", "1,10,50,200", "concurrencies for the scaling part (K=5)")
	lowN := flag.Int("low-n", 100, "runs for the low-load (C=1) overhead measurement")
	rounds := flag.Int("rounds", 1, "embedded part: measure each row this many times (ordo, then its baselines, each round) and print the median ratio")
	decideMax := flag.Int("decide-max", workflow.MaxSteps, "longest run for the decide-scaling part (at most workflow.MaxSteps)")
	parts := flag.String("parts", "embedded,scaling,decide,aws", "parts to run: embedded, scaling, decide, aws")
	charts := flag.String("charts", "", "directory to write the SVG charts to (none if empty)")
	awsN := flag.Int("aws-n", 100, "runs per local-AWS workload")
	awsK := flag.Int("aws-k", 5, "steps per run on local AWS")
	awsC := flag.Int("aws-c", 0, "concurrency on local AWS (0: -c)")
	dir := flag.String("dir", "", "directory for the SQLite files (default: a temporary one, removed)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the embedded and scaling parts here (samples labelled phase=ordo|raw|journal: pprof -tagfocus phase=ordo)")
	awsIdle := flag.Int("aws-idle-conns", 0, "MaxIdleConnsPerHost of the local-AWS clients' HTTP transport (0: max(C, SDK default 10))")
	awsProfile := flag.String("aws-profile", "", "write CPU, block and mutex profiles and a goroutine dump of each local-AWS phase into this directory")
	flag.Parse()
	ks, err := ints(*kList)
	if err != nil {
		return err
	}
	cs, err := ints(*cList)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		want[strings.TrimSpace(p)] = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *dir == "" {
		d, err := os.MkdirTemp("", "ordo-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Printf("# ordo-bench %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("command: %s\n", strings.Join(os.Args, " "))
	fmt.Printf("machine: %s\n\n", bench.Machine())

	stopProfile := func() {}
	if want["embedded"] || want["scaling"] {
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			stopProfile = func() { pprof.StopCPUProfile(); f.Close(); stopProfile = func() {} }
			defer stopProfile()
		}
	}
	if want["embedded"] {
		if err := embeddedPart(ctx, *dir, *n, ks, *c, *lowN, max(*rounds, 1)); err != nil {
			return err
		}
	}
	if want["scaling"] {
		if err := scalingPart(ctx, *dir, *n, cs, *charts); err != nil {
			return err
		}
	}
	stopProfile() // the profile covers the embedded runtime only
	if want["decide"] {
		if err := decidePart(*decideMax, *charts); err != nil {
			return err
		}
	}
	if want["aws"] {
		cc := *awsC
		if cc == 0 {
			cc = *c
		}
		opts := bench.AWSOptions{IdleConnsPerHost: *awsIdle}
		if opts.IdleConnsPerHost == 0 {
			opts.IdleConnsPerHost = max(cc, 10)
		}
		if *awsProfile != "" {
			if err := os.MkdirAll(*awsProfile, 0o755); err != nil {
				return err
			}
			opts.Profile = profiler(*awsProfile)
		}
		if err := awsPart(ctx, bench.Shape{N: *awsN, K: *awsK, C: cc}, opts); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

func embeddedPart(ctx context.Context, dir string, n int, ks []int, c, lowN, rounds int) error {
	fmt.Println("## Embedded: no-op steps, SQLite journal (WAL, synchronous=FULL, group commit)")
	fmt.Println()
	fmt.Println("| N | K | C | runs/s | steps/s | commits/s | p50 ms | p95 ms | p99 ms | overhead/step p50 ms | B/commit | raw SQLite appends/s | ratio | journal.Append/s | ratio | ordo CPU µs/commit | raw CPU µs/append |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	shapes := []bench.Shape{}
	for _, k := range ks {
		shapes = append(shapes, bench.Shape{N: n, K: k, C: c})
	}
	if lowN > 0 {
		shapes = append(shapes, bench.Shape{N: lowN, K: 5, C: 1})
	}
	var summary []string
	for _, s := range shapes {
		var ratios []float64
		for range rounds {
			ratio, err := embeddedRow(ctx, dir, s)
			if err != nil {
				return err
			}
			ratios = append(ratios, ratio)
		}
		if rounds > 1 {
			slices.Sort(ratios)
			summary = append(summary, fmt.Sprintf("%s: median ratio to raw SQLite %.2f over %d rounds (min %.2f, max %.2f)",
				s, median(ratios), rounds, ratios[0], ratios[len(ratios)-1]))
		}
	}
	fmt.Println()
	for _, l := range summary {
		fmt.Println(l)
	}
	if len(summary) > 0 {
		fmt.Println()
	}
	fmt.Println("ratio = ordo's journal commits/s ÷ the baseline's appends/s of the same size, same concurrency, same run.")
	fmt.Println("CPU µs = the process's CPU time (user + system, GC included) over the phase ÷ its commits or appends: steadier than rates on a busy machine.")
	fmt.Println("steps/s counts K step transitions per run; each run writes K+1 commits (the start with the first decision, and one per step).")
	fmt.Println()
	return nil
}

// phase runs f with the pprof label phase=name, which every goroutine f
// starts inherits: `go tool pprof -tagfocus phase=ordo` keeps only ordo's
// samples of a profile that also covers the baselines.
func phase(ctx context.Context, name string, f func(context.Context) error) error {
	var err error
	pprof.Do(ctx, pprof.Labels("phase", name), func(ctx context.Context) { err = f(ctx) })
	return err
}

// embeddedRow measures s and its baselines and prints one row; it returns
// the ratio to raw SQLite.
func embeddedRow(ctx context.Context, dir string, s bench.Shape) (float64, error) {
	runtime.GC()
	var r bench.Result
	var raw, j bench.Rate
	cpu0 := bench.CPUTime()
	err := phase(ctx, "ordo", func(ctx context.Context) (err error) {
		r, err = bench.Embedded(ctx, dir, s)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("embedded %s: %w", s, err)
	}
	runtime.GC()
	cpu1 := bench.CPUTime()
	if err := phase(ctx, "raw", func(ctx context.Context) (err error) {
		raw, err = bench.RawSQLite(ctx, dir, r.Commits, s.C, r.CommitBytes)
		return err
	}); err != nil {
		return 0, err
	}
	cpu2 := bench.CPUTime()
	if err := phase(ctx, "journal", func(ctx context.Context) (err error) {
		j, err = bench.JournalAppend(ctx, dir, s)
		return err
	}); err != nil {
		return 0, err
	}
	l := bench.Summarise(r.Latency)
	ratio := r.CommitsPerSec() / raw.PerSec()
	fmt.Printf("| %d | %d | %d | %.0f | %.0f | %.0f | %s | %s | %s | %s | %d | %.0f | %.2f | %.0f | %.2f | %.1f | %.1f |\n",
		s.N, s.K, s.C, r.RunsPerSec(), r.StepsPerSec(), r.CommitsPerSec(), ms(l.P50), ms(l.P95), ms(l.P99),
		ms(r.OverheadPerStep()), r.CommitBytes, raw.PerSec(), ratio, j.PerSec(), r.CommitsPerSec()/j.PerSec(),
		perOp(cpu1-cpu0, r.Commits), perOp(cpu2-cpu1, raw.Ops))
	return ratio, nil
}

// median is the median of sorted xs (the mean of the middle two when even).
func median(xs []float64) float64 {
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// perOp is d per operation, in µs.
func perOp(d time.Duration, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return float64(d) / 1e3 / float64(ops)
}

func scalingPart(ctx context.Context, dir string, n int, cs []int, charts string) error {
	fmt.Println("## Scaling: K=5, runs/s and p99 as concurrency grows")
	fmt.Println()
	fmt.Println("| C | runs/s | steps/s | p50 ms | p99 ms | raw SQLite appends/s | ratio |")
	fmt.Println("|---|---|---|---|---|---|---|")
	var rate, p99, ratio bench.Series
	rate.Name, p99.Name = "runs/s (left)", "p99 run latency, ms (right)"
	for _, c := range cs {
		runtime.GC()
		s := bench.Shape{N: max(n, c), K: 5, C: c}
		var r bench.Result
		var raw bench.Rate
		err := phase(ctx, "ordo", func(ctx context.Context) (err error) {
			r, err = bench.Embedded(ctx, dir, s)
			return err
		})
		if err != nil {
			return fmt.Errorf("embedded %s: %w", s, err)
		}
		if err := phase(ctx, "raw", func(ctx context.Context) (err error) {
			raw, err = bench.RawSQLite(ctx, dir, r.Commits, c, r.CommitBytes)
			return err
		}); err != nil {
			return err
		}
		l := bench.Summarise(r.Latency)
		fmt.Printf("| %d | %.0f | %.0f | %s | %s | %.0f | %.2f |\n", c, r.RunsPerSec(), r.StepsPerSec(), ms(l.P50), ms(l.P99),
			raw.PerSec(), r.CommitsPerSec()/raw.PerSec())
		rate.X, rate.Y = append(rate.X, float64(c)), append(rate.Y, r.RunsPerSec())
		p99.X, p99.Y = append(p99.X, float64(c)), append(p99.Y, float64(l.P99)/1e6)
		ratio.X, ratio.Y = append(ratio.X, float64(c)), append(ratio.Y, r.CommitsPerSec()/raw.PerSec())
	}
	fmt.Println()
	if charts == "" {
		return nil
	}
	return writeChart(filepath.Join(charts, "scaling.svg"), bench.Chart{
		Title: "Embedded, K=5 no-op steps, durable SQLite: throughput and p99 vs concurrency", XLabel: "concurrent starters C (log scale)",
		YLabel: "runs/s", Y2Label: "p99 run latency (ms)", LogX: true, Left: []bench.Series{rate}, Right: []bench.Series{p99}})
}

func decidePart(maxSteps int, charts string) error {
	fmt.Printf("## Decide cost as a run grows to %d steps (chain of %d no-op steps)\n\n", maxSteps, maxSteps)
	pts, err := bench.DecideScaling(maxSteps, 10)
	if err != nil {
		return err
	}
	fmt.Println("| steps so far | incremental Apply+Decide µs/transition | Decide from scratch µs |")
	fmt.Println("|---|---|---|")
	inc, scratch := bench.Series{Name: "incremental Apply+Decide per transition, µs (left)"}, bench.Series{Name: "Decide from scratch over the journal, ms (right)"}
	for _, p := range pts {
		fmt.Printf("| %d | %.1f | %.1f |\n", p.Steps, float64(p.Incremental)/1e3, float64(p.FromScratch)/1e3)
		inc.X, inc.Y = append(inc.X, float64(p.Steps)), append(inc.Y, float64(p.Incremental)/1e3)
		scratch.X, scratch.Y = append(scratch.X, float64(p.Steps)), append(scratch.Y, float64(p.FromScratch)/1e6)
	}
	fmt.Println()
	if charts == "" {
		return nil
	}
	return writeChart(filepath.Join(charts, "decide.svg"), bench.Chart{
		Title: fmt.Sprintf("Decide cost in a run of a %d-step chain", maxSteps), XLabel: "steps completed",
		YLabel: "µs per transition (incremental)", Y2Label: "ms per Decide from scratch", Left: []bench.Series{inc}, Right: []bench.Series{scratch}})
}

func writeChart(path string, c bench.Chart) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := c.WriteSVG(f); err != nil {
		f.Close()
		return err
	}
	fmt.Printf("chart: %s\n\n", path)
	return f.Close()
}
