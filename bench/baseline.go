package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the driver sqlitejournal uses

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// Rate is a measured rate of operations.
type Rate struct {
	Ops     int
	Elapsed time.Duration
}

// PerSec is operations per second.
func (r Rate) PerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// RawSQLite measures raw durable SQLite appends: n inserts of a size-byte
// blob into a WAL database with synchronous=FULL, made by c concurrent
// appenders through one writer that group-commits whatever is queued (the
// best a single SQLite file does; no ordo code involved).
func RawSQLite(ctx context.Context, dir string, n, c, size int) (Rate, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(5000)")
	db, err := sql.Open("sqlite", dbPath(dir, "raw")+"?"+q.Encode())
	if err != nil {
		return Rate{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS log(run TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, events BLOB NOT NULL, PRIMARY KEY(run, seq))`); err != nil {
		return Rate{}, err
	}
	type req struct {
		run  string
		seq  int
		done chan error
	}
	blob := make([]byte, size)
	for i := range blob {
		blob[i] = 'a' + byte(i%26)
	}
	queue := make(chan req, c)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			var batch []req
			select {
			case r := <-queue:
				batch = append(batch, r)
			case <-stop:
				return
			}
		drain:
			for len(batch) < 1000 {
				select {
				case r := <-queue:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			err := func() error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				for _, r := range batch {
					if _, err := tx.ExecContext(ctx, `INSERT INTO log(run, seq, at, events) VALUES(?, ?, ?, ?)`, r.run, r.seq, time.Now().UnixNano(), blob); err != nil {
						tx.Rollback()
						return err
					}
				}
				return tx.Commit()
			}()
			for _, r := range batch {
				r.done <- err
			}
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			for seq := 1; ; seq++ {
				if next.Add(1) > int64(n) {
					return
				}
				queue <- req{run: fmt.Sprintf("raw-%d", w), seq: seq, done: done}
				if err := <-done; err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-writerDone
	if err, ok := firstErr.Load().(error); ok {
		return Rate{}, fmt.Errorf("raw sqlite: %w", err)
	}
	return Rate{Ops: n, Elapsed: elapsed}, nil
}

// JournalAppend measures sqlitejournal.Append alone, without the engine:
// s.N runs' worth of the chain's real commits (s.K+1 per run), each run's
// commits appended in order, by s.C concurrent appenders.
func JournalAppend(ctx context.Context, dir string, s Shape) (Rate, error) {
	commits, err := Journal(Chain(s.K), Input, Input)
	if err != nil {
		return Rate{}, err
	}
	store, err := sqlitejournal.New(ctx, dbPath(dir, "journal"))
	if err != nil {
		return Rate{}, err
	}
	defer store.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range s.C {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(s.N) {
					return
				}
				run := fmt.Sprintf("chain%d/%d", s.K, i)
				for j, events := range commits {
					c := journal.Commit{Run: run, After: int64(j), Events: events, At: time.Now()}
					if j == 0 {
						c.Workflow, c.DefHash, c.Status = "chain", "sha256:bench", journal.StatusRunning
					}
					if j == len(commits)-1 {
						c.Status = journal.StatusCompleted
					}
					if _, err := store.Append(ctx, c); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		return Rate{}, err
	}
	return Rate{Ops: s.N * len(commits), Elapsed: elapsed}, nil
}
