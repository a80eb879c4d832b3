package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ordoflow/ordo/cli"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
)

type demoResult struct {
	Orders, Completed, Review, Failed, Other int
	P50, P99                                 time.Duration
	Elapsed                                  time.Duration
}

func demoCmd(g *cli.Env) *cobra.Command {
	var orders, concurrency int
	var keep, mix bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Place sample orders through the order workflow on the embedded journal and summarise",
		Long: `demo places N sample orders (a few use a declined card and land in review,
some have a digital SKU that gets a warranty, some hit an inventory shortage
and are retried) through the order workflow, on a fresh SQLite journal unless
--keep is set, and prints a summary line.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !keep && !cmd.Flags().Changed("db") && os.Getenv("ORDO_DB") == "" {
				dir, err := os.MkdirTemp("", "ordo-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				g.SetDB(filepath.Join(dir, "demo.db"))
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			res, err := runDemoWith(ctx, g, orders, concurrency, demoSampler(mix))
			if err != nil {
				return err
			}
			noun := "orders"
			if mix {
				noun = "runs"
			}
			fmt.Printf("demo: %d %s in %s: %d completed, %d in review, %d failed; run latency p50=%s p99=%s\n",
				res.Orders, noun, res.Elapsed.Round(time.Millisecond), res.Completed, res.Review, res.Failed,
				res.P50.Round(10*time.Microsecond), res.P99.Round(10*time.Microsecond))
			if res.Other > 0 {
				return fmt.Errorf("%d runs did not settle", res.Other)
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&orders, "orders", "n", 300, "number of orders to place")
	cmd.Flags().IntVarP(&concurrency, "concurrency", "c", 50, "concurrent order placements")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	cmd.Flags().BoolVar(&mix, "mix", false, "place a day's mixed traffic instead: orders, refunds, returns and problem inputs (workflows.SampleTraffic)")
	cmd.Flags().BoolVar(&keep, "keep", false, "use --db/ORDO_DB (default ./ordo.db) and keep the journal for inspection")
	return cmd
}

func runDemoWith(ctx context.Context, g *cli.Env, orders, concurrency int, sample sampler) (demoResult, error) {
	a, err := g.Open(ctx)
	if err != nil {
		return demoResult{}, err
	}
	defer a.Close()
	var bar *progressbar.ProgressBar
	if term.IsTerminal(int(os.Stderr.Fd())) {
		bar = progressbar.NewOptions(orders, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("placing orders"), progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(50*time.Millisecond))
	}
	// A fresh demo run id space per invocation keeps --keep journals additive.
	prefix := fmt.Sprintf("demo-%d-", time.Now().UnixNano())
	latencies := make([]time.Duration, orders)
	statuses := make([]journal.Status, orders)
	errs := make(chan error, 1)
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range max(concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				wf, input := sample(i)
				st, err := a.Start(ctx, orchestrator.StartRequest{Workflow: wf,
					Input: input, Key: prefix + fmt.Sprint(i)})
				if err == nil {
					statuses[i], err = a.Wait(ctx, st.Run)
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("order %d: %w", i, err):
					default:
					}
					continue
				}
				latencies[i] = time.Since(t0)
				if bar != nil {
					bar.Add(1)
				}
			}
		}()
	}
	for i := range orders {
		select {
		case work <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if bar != nil {
		bar.Finish()
	}
	select {
	case err := <-errs:
		return demoResult{}, err
	default:
	}
	res := demoResult{Orders: orders, Elapsed: time.Since(start)}
	for _, s := range statuses {
		switch s {
		case journal.StatusCompleted:
			res.Completed++
		case journal.StatusReview:
			res.Review++
		case journal.StatusFailed:
			res.Failed++
		default:
			res.Other++
		}
	}
	res.P50, res.P99 = percentile(latencies, 50), percentile(latencies, 99)
	return res, ctx.Err()
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
