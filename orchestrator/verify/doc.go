// Package verify checks recorded runs against the code and definitions
// about to be deployed: the regression tests a journal gives for free.
//
//   - Steps re-executes every recorded step attempt (its input, the run's
//     state at the time, its attempt number and idempotency key) through
//     the current step implementation and diffs the output, state patch
//     and effects, or the error, against what the journal recorded.
//     Fields declared volatile and steps declared not re-executable
//     (Config, a file such as ordo.verify.yaml) are left out.
//   - Replay re-folds a run's journal commit by commit and asks a
//     definition (a new version, say) to decide at each one: it must
//     decide exactly what the journal recorded, or Replay names the first
//     event where it does not and why.
//   - A Recording is one run's journal with its definition, as a file:
//     the golden journal `ordo gen-test` writes and generated tests read.
//
// A step's recorded failure that the platform, not the step, reported (a
// timeout or an invoke error) is not reproducible and is skipped, as are
// async steps (their result came by callback) and attempts without a
// recorded result (still in flight).
//
// # Errors
//
//	situation                                                   error
//	----------------------------------------------------------  -------------------
//	A recording or journal that is truncated, out of order or   ErrCorrupt
//	  not JSON; events that do not fold under their definition
//	The run's workflow is not among the current definitions     ErrUnknownWorkflow
//	A recorded step the current definition no longer has        ErrUnknownStep
//	  (in a Check's Err)
//	The run's own definition is not available                   ErrNoDefinition
//	A definition that decides otherwise than the journal        ErrDrift (a *Drift)
package verify

import "errors"

// Sentinel errors; see the package documentation.
var (
	ErrCorrupt         = errors.New("verify: corrupt journal")
	ErrUnknownWorkflow = errors.New("verify: workflow no longer exists")
	ErrUnknownStep     = errors.New("verify: step no longer exists")
	ErrNoDefinition    = errors.New("verify: run's definition not available")
	ErrDrift           = errors.New("verify: definition decides differently")
)
