package soak_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

// embeddedRates are the faults of the embedded soak, per opportunity. A
// crash kills the whole runtime (process): everything it does afterwards
// fails, and a new runtime on the same journal file resumes.
var embeddedRates = map[lambdatest.Kind]float64{
	lambdatest.CrashAfterAppend:  0.002,
	lambdatest.CrashBeforeInvoke: 0.002,
	lambdatest.CrashAfterInvoke:  0.002,
	lambdatest.StoreFailure:      0.01,
	lambdatest.StoreLostAnswer:   0.005,
	lambdatest.FunctionTimeout:   0.01,
}

// process is one embedded runtime's life.
type process struct {
	proc  *lambdatest.Process
	store *sqlitejournal.Store
	rt    *embedded.Runtime
}

func TestSoakEmbedded(t *testing.T) {
	n, sd := runs(t), seed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	faults := lambdatest.NewFaults(sd, embeddedRates)
	path := filepath.Join(t.TempDir(), "soak.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	calls := &counter{n: map[lambdatest.Attempt]int{}}
	recv := &receiver{deliveries: map[string]int{}}

	var cur atomic.Pointer[process]
	// Each process has its own registry: its steps crash with it.
	registry := func(proc *lambdatest.Process) *step.Registry {
		return countingRegistry(calls,
			func(step.Request) error { return faults.CrashProcess(proc, lambdatest.CrashBeforeInvoke) },
			func(step.Request) error {
				if err := faults.CrashProcess(proc, lambdatest.CrashAfterInvoke); err != nil {
					return err
				}
				if faults.Hit(lambdatest.FunctionTimeout) {
					return errors.New("injected: the function timed out after doing its work")
				}
				return nil
			})
	}
	// Every process seals with the same key, as the CLI's does (a key file
	// beside the journal): a restarted process opens what its predecessor
	// sealed.
	keys, err := localkey.LoadFile(path + ".sealing-key")
	if err != nil {
		t.Fatal(err)
	}
	boot := func() *process {
		st, err := sqlitejournal.New(ctx, path)
		if err != nil {
			t.Fatalf("open the journal: %v", err)
		}
		p := &process{proc: lambdatest.NewProcess(), store: st}
		store := lambdatest.Store{Store: st, Faults: faults, Process: p.proc}
		p.rt = embedded.New(store, registry(p.proc), embedded.WithLogger(log), embedded.WithSealer(keys))
		p.rt.Effects.Handle("email", recv)
		p.rt.Effects.Handle("publish", recv)
		if _, err := workflows.Setup(ctx, p.rt.Engine); err != nil {
			t.Fatalf("definitions: %v", err)
		}
		return p
	}
	cur.Store(boot())
	restarts := 0
	var mu sync.Mutex // held while a crashed process is replaced
	// The supervisor restarts a crashed process and resumes its runs.
	stop := make(chan struct{})
	var sup sync.WaitGroup
	sup.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if p := cur.Load(); p.proc.Crashed() {
				// As a process manager would: the new runtime resumes the
				// journal before it accepts anything (Resume's contract).
				mu.Lock()
				_ = p.rt.Close()
				_ = p.store.Close()
				np := boot()
				if _, err := np.rt.Resume(ctx); err != nil {
					t.Errorf("resume: %v", err)
				}
				cur.Store(np)
				restarts++
				mu.Unlock()
			}
		}
	})

	inputs, os := orders(n)
	// Every start delivered 1-3 times, the deliveries shuffled.
	rng := rand.New(rand.NewPCG(sd, 9))
	var deliveries []int
	dups := 0
	for i := range n {
		k := 1 + rng.IntN(3)
		dups += k - 1
		for range k {
			deliveries = append(deliveries, i)
		}
	}
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	began := time.Now()
	for _, i := range deliveries {
		startUntilAccepted(ctx, t, &cur, &mu, orchestrator.StartRequest{Workflow: "order", Input: inputs[i]})
		if rng.IntN(4) == 0 { // a stray wake-up of some other run
			cur.Load().rt.Poke(os[rng.IntN(n)].run)
		}
	}
	// The checks read the file beside the writers: a process's store closes
	// when a crash replaces it, which may happen while they poll.
	reader, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	heads := settle(ctx, t, reader, os, 5*time.Minute)
	// Effects run after a run settles: wait for the receiver to have them.
	awaitEffects(ctx, t, reader, os, recv, time.Minute)
	close(stop)
	sup.Wait()
	final := cur.Load()
	defer final.store.Close()
	defer final.rt.Close()

	rep := &report{Runtime: "embedded (SQLite)", Runs: n, Faults: faults, Duplicates: dups, Elapsed: time.Since(began)}
	check(ctx, t, final.store, os, heads, calls.counts(), recv, rep)
	t.Logf("%d restarts after crashes", restarts)
	finish(ctx, t, final.store, rep)
}

// startUntilAccepted starts a run as a client would: retrying until the
// runtime accepts it (a crashed process is being replaced meanwhile).
func startUntilAccepted(ctx context.Context, t *testing.T, cur *atomic.Pointer[process], mu *sync.Mutex, req orchestrator.StartRequest) {
	t.Helper()
	for {
		mu.Lock()
		p := cur.Load()
		mu.Unlock()
		_, err := p.rt.Start(ctx, req)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("start %s: %v", req.Input, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
