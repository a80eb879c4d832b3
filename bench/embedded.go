package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
)

// Input is every benchmark run's input (and, passed through, every step's
// output).
var Input = json.RawMessage(`{"orderId":"ord_8f14e45fceea167a","amount":4200,"currency":"EUR"}`)

// Shape is one benchmark workload: N runs of a K-step chain started by C
// concurrent starters.
type Shape struct {
	N, K, C int
}

func (s Shape) String() string { return fmt.Sprintf("N=%d K=%d C=%d", s.N, s.K, s.C) }

// Result is what a workload measured.
type Result struct {
	Shape   Shape
	Elapsed time.Duration
	// Latency of each run, from Start to Wait's return.
	Latency []time.Duration
	// Commits is the number of journal commits written; CommitBytes their
	// mean encoded size.
	Commits     int
	CommitBytes int
}

// RunsPerSec is runs completed per second.
func (r Result) RunsPerSec() float64 { return float64(r.Shape.N) / r.Elapsed.Seconds() }

// StepsPerSec is step transitions (steps completed) per second.
func (r Result) StepsPerSec() float64 { return float64(r.Shape.N*r.Shape.K) / r.Elapsed.Seconds() }

// CommitsPerSec is journal commits per second.
func (r Result) CommitsPerSec() float64 { return float64(r.Commits) / r.Elapsed.Seconds() }

// OverheadPerStep is the p50 run latency divided by K: the steps are no-ops,
// so it is what the orchestrator (decide, journal with fsync, dispatch)
// adds to each step.
func (r Result) OverheadPerStep() time.Duration {
	return Percentile(r.Latency, 50) / time.Duration(r.Shape.K)
}

var discard = slog.New(slog.DiscardHandler)

var files atomic.Int64

// dbPath returns a new database file name under dir.
func dbPath(dir, prefix string) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%d.db", prefix, files.Add(1)))
}

// Embedded runs s on the embedded runtime over a durable SQLite journal (WAL,
// synchronous=FULL, group commit) in a new file under dir.
func Embedded(ctx context.Context, dir string, s Shape) (Result, error) {
	path := dbPath(dir, "ordo")
	store, err := sqlitejournal.New(ctx, path)
	if err != nil {
		return Result{}, err
	}
	rt := embedded.New(store, Registry(), embedded.WithLogger(discard),
		embedded.WithEngineOptions(orchestrator.WithLogger(discard)))
	def := Chain(s.K)
	if err := rt.Engine.Register(ctx, def); err != nil {
		rt.Close()
		store.Close()
		return Result{}, err
	}
	res := Result{Shape: s, Latency: make([]time.Duration, s.N)}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, s.C)
	start := time.Now()
	for range s.C {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= s.N || ctx.Err() != nil {
					return
				}
				t := time.Now()
				st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: def.Name, Input: Input, Key: strconv.Itoa(i)})
				if err != nil {
					errs <- err
					return
				}
				status, err := rt.Wait(ctx, st.Run)
				if err != nil {
					errs <- err
					return
				}
				if status != journal.StatusCompleted {
					errs <- fmt.Errorf("run %s: %s", st.Run, status)
					return
				}
				res.Latency[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	rt.Close()
	if err := store.Close(); err != nil {
		return res, err
	}
	select {
	case err := <-errs:
		return res, err
	default:
	}
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		return res, err
	}
	defer db.Close()
	var avg float64
	if err := db.QueryRowContext(ctx, "SELECT count(*), avg(length(events)) FROM commits").Scan(&res.Commits, &avg); err != nil {
		return res, fmt.Errorf("read back %s: %w", path, err)
	}
	res.CommitBytes = int(avg + 0.5)
	return res, nil
}
