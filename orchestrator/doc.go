// Package orchestrator is ordo's engine: the pure decider and the loop that
// drives a run around it.
//
// Decide(def, events, now) folds a run's journal into its current view
// (RunState) and returns a Decision: the events to append (steps scheduled,
// skipped, retried, timers, review, completion), the step invocations to
// make, and when to wake up next. It does no I/O, reads no clock and uses no
// randomness, so a recorded journal always decides the same way: that is
// what replay, verification and the visualizer build on.
//
// Engine does the I/O around Decide: load → decide → append (conditional on
// the last sequence; on journal.ErrConflict reload and decide again) →
// invoke ready steps in parallel → append their results together with the
// next decision → dispatch effects → repeat. The journal is written before
// anything is sent, so a crash between the two delays work but never loses
// or doubles it: a step scheduled but without a result is invoked again on
// recovery (with the same idempotency key), and an effect journaled without
// an outcome is dispatched again.
//
// # Errors
//
//	situation                                   error
//	------------------------------------------  ---------------------------
//	Start of a workflow that is not registered  ErrUnknownWorkflow
//	A run pinned to a definition not available  ErrUnknownDefinition
//	A journal that does not begin with a start  ErrCorruptJournal
//	Start with input that is not JSON          ErrBadInput
//	Drive of a run that does not exist          journal.ErrNotFound
//	Resubmit of a run not in review            ErrNotInReview
//	Cancel of a run that already finished      ErrFinished
package orchestrator
