package embedded_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// BenchmarkRun measures whole runs of a 5-step chain of no-op steps on a
// durable SQLite journal (WAL, synchronous=FULL), each op one run started
// and awaited, at 1 and at 50 runs in flight: what ordo-bench's embedded
// rows measure, with allocations (and -cpuprofile/-memprofile at hand). It
// reports commits/batch, the mean number of commits the journal's writer
// put in one transaction (one fsync), counted by a fault hook that injects
// nothing.
func BenchmarkRun(b *testing.B) {
	reg := step.NewRegistry()
	reg.Register("noop", step.Func(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }))
	opts := []workflow.Option{}
	for i := 1; i <= 5; i++ {
		var so []workflow.StepOption
		if i > 1 {
			so = append(so, workflow.After(fmt.Sprintf("s%d", i-1)))
		}
		opts = append(opts, workflow.Step(fmt.Sprintf("s%d", i), "noop", so...))
	}
	def := workflow.New("chain5", opts...).MustBuild()
	input := json.RawMessage(`{"orderId":"ord_8f14e45fceea167a","amount":4200,"currency":"EUR"}`)
	for _, inFlight := range []int{1, 50} {
		b.Run(fmt.Sprintf("steps=5/inflight=%d", inFlight), func(b *testing.B) {
			ctx := context.Background()
			var commits, batches atomic.Int64
			count := sqlitejournal.WithFaultHook(func(f sqlitejournal.Fault) error {
				if f.Point == sqlitejournal.FaultAfterCommit {
					commits.Add(int64(f.Batch))
					batches.Add(1)
				}
				return nil
			})
			defer func() {
				if n := batches.Load(); n > 0 {
					b.ReportMetric(float64(commits.Load())/float64(n), "commits/batch")
				}
			}()
			store, err := sqlitejournal.New(ctx, filepath.Join(b.TempDir(), "bench.db"), count)
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			rt := embedded.New(store, reg, embedded.WithLogger(slog.New(slog.DiscardHandler)))
			defer rt.Close()
			if err := rt.Engine.Register(ctx, def); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.SetParallelism((inFlight + 1) / 2) // GOMAXPROCS × this goroutines; 2 cores here
			if inFlight == 1 {
				b.SetParallelism(1)
			}
			b.ReportAllocs()
			b.ResetTimer()
			run := func() error {
				st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "chain5", Input: input, Key: fmt.Sprint(next.Add(1))})
				if err != nil {
					return err
				}
				status, err := rt.Wait(ctx, st.Run)
				if err == nil && status != journal.StatusCompleted {
					err = fmt.Errorf("run %s: %s", st.Run, status)
				}
				return err
			}
			if inFlight == 1 {
				for b.Loop() {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			var failed atomic.Value
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := run(); err != nil {
						failed.CompareAndSwap(nil, err)
					}
				}
			})
			if err, ok := failed.Load().(error); ok {
				b.Fatal(err)
			}
		})
	}
}
