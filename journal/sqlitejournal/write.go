package sqlitejournal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// appendReq is one Append waiting for the writer.
type appendReq struct {
	ctx    context.Context
	c      journal.Commit
	at     int64  // commit time, Unix nanoseconds
	events []byte // encoded by journal.EncodeEvents
	done   chan appendResult
}

type appendResult struct {
	seq int64
	err error
}

// Append implements journal.Store. It returns once the commit is durable.
func (s *Store) Append(ctx context.Context, c journal.Commit) (int64, error) {
	seq, err := s.append(ctx, c)
	if err != nil {
		return 0, fmt.Errorf("sqlitejournal: append %s: %w", c.Run, err)
	}
	return seq, nil
}

func (s *Store) append(ctx context.Context, c journal.Commit) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.opts.readOnly {
		return 0, ErrReadOnly
	}
	if err := c.Validate(); err != nil {
		return 0, err
	}
	events, err := journal.EncodeEvents(c.Events)
	if err != nil {
		return 0, err
	}
	if len(events) > s.opts.maxCommitSize {
		return 0, journal.NewTooLargeError(c, "encoded events", len(events), s.opts.maxCommitSize)
	}
	at := c.At
	if at.IsZero() {
		at = s.now()
	}
	req := &appendReq{ctx: ctx, c: c, at: nanos(at), events: events, done: make(chan appendResult, 1)}

	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return 0, ErrClosed
	}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.mu.RUnlock()
		return 0, ctx.Err()
	}
	s.mu.RUnlock()

	// Once queued, wait for the answer even if ctx ends: the writer skips
	// requests whose context is done, and anything it did write is durable,
	// so the caller learns the true outcome either way.
	res := <-req.done
	return res.seq, res.err
}

// writeLoop is the single writer. Each pass takes what is queued, and
// what comes while it gathers a batch (gatherer), up to maxBatch requests,
// and writes it in one transaction.
func (s *Store) writeLoop() {
	defer close(s.done)
	g := newGatherer(s.opts.maxGather)
	batch := make([]*appendReq, 0, s.opts.maxBatch)
	for req := range s.reqs {
		batch = s.gather(g, append(batch[:0], req))
		start := time.Now()
		s.committing = 0
		s.writeBatch(batch)
		took := time.Since(start)
		g.wrote(batch, took-s.committing, s.committing)
		clear(batch)
	}
}

// writeBatch writes batch in one transaction and answers every request.
// If a request fails with an error of its own (not a conflict), the
// transaction is rolled back, that request is answered with its error and
// the rest are written again without it.
func (s *Store) writeBatch(batch []*appendReq) {
	results := make([]appendResult, len(batch))
	pending := make([]int, len(batch))
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		failed, err := s.tryBatch(batch, pending, results)
		if failed >= 0 {
			results[failed].err = err
			pending = removeIndex(pending, failed)
			continue
		}
		if err != nil { // begin or commit failed (nothing was written), or a fault was injected
			for _, i := range pending {
				results[i] = appendResult{err: err}
			}
		}
		break
	}
	for i, req := range batch {
		req.done <- results[i]
	}
}

func removeIndex(pending []int, i int) []int {
	out := pending[:0]
	for _, j := range pending {
		if j != i {
			out = append(out, j)
		}
	}
	return out
}

// tryBatch runs one transaction over the pending requests, filling in
// results. It returns the index of a request that failed on its own (and
// rolls back), or -1 and the transaction's error (or an injected fault:
// WithFaultHook).
func (s *Store) tryBatch(batch []*appendReq, pending []int, results []appendResult) (int, error) {
	ctx := context.Background() // the batch outlives any one caller
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return -1, err
	}
	w := txStmts{
		insRun:    tx.StmtContext(ctx, s.insRun),
		insCommit: tx.StmtContext(ctx, s.insCommit),
		updStatus: tx.StmtContext(ctx, s.updStatus),
	}
	for k, i := range pending {
		if err := s.fault(Fault{Point: FaultInBatch, Applied: k, Batch: len(pending)}); err != nil {
			tx.Rollback()
			return -1, err
		}
		req := batch[i]
		if err := req.ctx.Err(); err != nil {
			results[i] = appendResult{err: err}
			continue
		}
		seq, err := w.apply(ctx, req)
		if err != nil && !errors.Is(err, journal.ErrConflict) {
			tx.Rollback()
			return i, err
		}
		results[i] = appendResult{seq: seq, err: err}
	}
	if err := s.fault(Fault{Point: FaultInBatch, Applied: len(pending), Batch: len(pending)}); err != nil {
		tx.Rollback()
		return -1, err
	}
	start := time.Now()
	err = tx.Commit()
	s.committing = time.Since(start)
	if err != nil {
		return -1, err
	}
	// Every caller of the batch is answered with the fault, as if the
	// process died before telling them.
	return -1, s.fault(Fault{Point: FaultAfterCommit, Applied: len(pending), Batch: len(pending)})
}

type txStmts struct {
	insRun, insCommit, updStatus *sql.Stmt
}

// apply appends req's commit inside the transaction if its expected
// sequence is the run's last: the first commit creates the run's head; a
// later one goes in only into the free slot after an existing commit
// (the primary key and trigger commits_follow). The head is written again
// only when the commit sets a status, so a commit that does not is one
// insert.
func (w txStmts) apply(ctx context.Context, req *appendReq) (int64, error) {
	c := req.c
	seq := c.After + 1
	if c.After == 0 {
		status := c.Status
		if status == "" {
			status = journal.StatusRunning
		}
		res, err := w.insRun.ExecContext(ctx, c.Run, c.Workflow, c.DefHash, string(status), req.at)
		if err := inserted(res, err); err != nil {
			return 0, explain(err, "run already exists")
		}
	}
	res, err := w.insCommit.ExecContext(ctx, c.Run, seq, req.at, req.events)
	if err := inserted(res, err); err != nil {
		return 0, explain(err, "run is not at seq "+strconv.FormatInt(c.After, 10))
	}
	if c.After > 0 && c.Status != "" {
		if _, err := w.updStatus.ExecContext(ctx, c.Run, seq, string(c.Status), req.at); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// explain says why a conflict is one; other errors speak for themselves.
func explain(err error, why string) error {
	if errors.Is(err, journal.ErrConflict) {
		return fmt.Errorf("%s: %w", why, err)
	}
	return err
}

// inserted turns an insert's outcome into an error: its own, or
// journal.ErrConflict when it inserted nothing.
func inserted(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return journal.ErrConflict
	}
	return nil
}
