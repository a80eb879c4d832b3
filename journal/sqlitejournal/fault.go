package sqlitejournal

import "fmt"

// FaultPoint names a place inside the writer's group commit where a
// fault-injection test can make the writer fail (WithFaultHook).
type FaultPoint int

const (
	// FaultInBatch is inside a batch's transaction, before its next
	// commit is applied (Fault.Applied commits are written in the open
	// transaction so far) or, when Applied equals Batch, after the last
	// one and before the transaction commits. A fault here rolls the
	// transaction back: nothing of the batch is written and every caller
	// in it gets the fault as its error (each may retry its Append as is).
	FaultInBatch FaultPoint = iota + 1
	// FaultAfterCommit is after a batch's transaction committed, before
	// its callers are answered. A fault here answers every caller with
	// the fault although its commit is durable: what a caller sees when
	// its process dies there (a process that outlives such a fault finds
	// its commits on its next load, and a retry of the same Append fails
	// with journal.ErrConflict).
	FaultAfterCommit
)

func (p FaultPoint) String() string {
	switch p {
	case FaultInBatch:
		return "in a batch, before its transaction commits"
	case FaultAfterCommit:
		return "after a batch committed, before its callers are answered"
	}
	return fmt.Sprintf("FaultPoint(%d)", int(p))
}

// Fault is where the writer is when it asks a fault hook (WithFaultHook).
type Fault struct {
	Point FaultPoint
	// Applied is how many of the batch's commits the transaction holds.
	Applied int
	// Batch is how many commits the batch holds.
	Batch int
}

// WithFaultHook is for fault-injection tests only: the writer calls hook
// at every FaultPoint of every batch, and a non-nil error is injected
// there (see FaultInBatch and FaultAfterCommit). A test that models a
// process crash returns an error from its hook from the crash on, so the
// dead store writes nothing more, then opens a new Store on the file.
// Production code never sets it.
func WithFaultHook(hook func(Fault) error) Option {
	return func(o *options) { o.faultHook = hook }
}

// fault asks the fault hook, if any, whether to fail at f.
func (s *Store) fault(f Fault) error {
	if s.opts.faultHook == nil {
		return nil
	}
	if err := s.opts.faultHook(f); err != nil {
		return fmt.Errorf("fault injected %s (%d of %d commits applied): %w", f.Point, f.Applied, f.Batch, err)
	}
	return nil
}
