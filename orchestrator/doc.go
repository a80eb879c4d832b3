// Package orchestrator is ordo's engine: the pure decider and the driver that
// runs a run around it.
//
// Decide(def, events, now) folds a run's journal into its state (RunState)
// and returns a Decision: the events to append (steps scheduled, skipped,
// retried, timed out, timers, review, completion), the step invocations to
// make, the effects to dispatch, and when to wake up next. It does no I/O,
// reads no clock and uses no randomness, so a recorded journal always
// decides the same way: that is what replay, verification and the
// visualizer build on. View and FoldAt give the tools a read-only Snapshot
// of a run at any point of its history.
//
// # The engine's jobs
//
// Engine has three: definitions (Register, Workflow, Definition, Refresh);
// commands, which append to a run's journal and return a Receipt naming the
// runs that now need a drive (Start, Signal, Complete, Resubmit, Cancel,
// Reclaim; Heartbeat needs none); and the driver (Drive): load → decide →
// append (conditional on the last sequence; on journal.ErrConflict reload
// and decide again) → dispatch effects → invoke the attempts just scheduled
// in parallel → append their results with the next decision → repeat.
// Neither commands nor Drive ever drive or wake a run themselves: the
// runtime around the engine (package embedded, the orchestrator Lambda)
// is the one place that schedules drives, from Receipt.Wake, Outcome.Wake
// and Outcome.WakeAt.
//
// # Leases: each attempt invoked once
//
// The journal is written before anything is sent. An attempt the engine
// invokes (a task, a map item, a compensation) is journaled with a lease,
// StepScheduled.Due: the time by which its result is due, its timeout
// (DefaultStepTimeout when the step has none) plus LeaseMargin. The driver
// that journaled it invokes it; any other Drive of the run (a redelivered
// message, a continuation, a second process) finds it in flight under a
// live lease and only asks to be woken when the lease ends. Once a lease has
// expired with no result journaled, Decide fails the attempt by timeout
// (StepFailed, kind step.KindTimeout) and its retry policy decides: another
// attempt, or review when the attempts run out. An attempt is invoked again
// only as a new attempt, after its lease expired. An attempt Reclaim ended
// (its process stopped) costs no retry: it is retried at once, and only
// more than MaxReclaims reclaims of one step send the run to review.
//
// Async steps hand out their callback token once per attempt: their lease
// covers the start (the invocation that hands out the token, bounded by
// DefaultStepTimeout); the driver journals StepStarted when it comes back,
// which ends the lease, and the attempt then ends by callback or by its
// timeout (without a timeout it waits for its callback, bounded only by the
// run's timeout). A start that never comes back fails the attempt by
// timeout when its lease runs out, and its retry policy decides. Sub steps
// start their child run, which is idempotent.
//
// # The outbox
//
// Effects are journaled with the result that asked for them. Decide lists
// those not yet dispatched (Decision.Dispatch) and, while any remain, asks
// for a wake-up that backs off with their age; the driver sends them
// through the Dispatcher and journals EffectDispatched for each one sent. A
// failed send, even on a run's last commit, is therefore sent again by a
// later Drive. Receivers de-duplicate by the effect's stable id. Without a
// Dispatcher (the embedded runtime) Drive reports the outstanding effects in
// Outcome.Effects and the caller executes them and journals their outcomes.
//
// # Journal events the engine writes, beyond the obvious
//
//	StepScheduled.Due     the attempt's lease (task attempts, map items, compensations;
//	                      for async steps, the lease of their start)
//	StepStarted           an async attempt's start came back: its lease ends
//	StepFailed kind       step.KindTimeout when a lease expired, step.KindLease when
//	                      Reclaim ended an attempt of a stopped driver,
//	                      step.KindTooLarge when the result exceeded the journal's limit
//	EffectDispatched      an effect handed to the effects executor (EffectID)
//
// # Errors
//
//	situation                                   error
//	------------------------------------------  ---------------------------
//	Start of a workflow that is not registered  ErrUnknownWorkflow
//	A run pinned to a definition not available  ErrUnknownDefinition
//	A journal that does not begin with a start  ErrCorruptJournal
//	Start with input that is not JSON          ErrBadInput
//	Resubmit with input or state not JSON      ErrBadInput
//	FoldAt past the end of the events           ErrBadInput
//	Drive of a run that does not exist          journal.ErrNotFound
//	Resubmit of a run not in review            ErrNotInReview
//	Cancel of a run that already finished      ErrFinished
//	Complete of an attempt no longer awaited   ErrNotAwaited
//	Complete carrying a state patch, or effects ErrBadInput
//	  of kinds the step does not declare
//	A sensitive value that cannot be sealed     sensitive.ErrKey (wrapped; the
//	  at Start, Signal or Resubmit                command journals nothing)
//
// A sensitive value (workflow.Definition.Sensitive) that cannot be opened
// for a step, or sealed from its result, is not an error of Drive either:
// the attempt fails terminally with step.KindKey, naming the key, and the
// run goes to review.
//
// A step result too large for the journal is not an error of Drive: the
// step fails terminally (step.KindTooLarge) and the run goes to review.
// Nor is a decision too large on its own (a map's item list, the run's
// output, an event payload passed on): the run goes to review with a
// NeedsReview of kind step.KindTooLarge naming it. Signal and Resubmit
// with a payload the journal cannot take fail with a
// *journal.TooLargeError and change nothing.
package orchestrator
