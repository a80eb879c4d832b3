// Package orchestratortest runs workflows in tests: a definition against
// its real step functions, stubs, or a mix, on an in-memory journal with a
// manual clock. Retry backoffs, timers and timeouts fall due when the test
// moves the clock, so a workflow whose retries wait minutes runs in
// milliseconds, and every run leaves a journal to assert on.
//
//	h := orchestratortest.New(t, reg, []*workflow.Definition{def})
//	h.Stub("charge", step.Terminal(errors.New("card declined")))
//	run := h.Run("order", order)
//	run.AssertStatus(journal.StatusReview)
//	run.AssertAttempts("charge", 1)
//
// Start drives a run as far as it goes without moving the clock; Settle
// moves the clock to each wake-up until the run completes, fails, is
// cancelled or goes to review (Run is both); Advance moves it by a
// duration. Signal and Complete deliver external events and callbacks the
// way the API does. Stub replaces a step by name (or function name) with
// an output, an error, a step.Result, or any step.Handler; Sequence varies
// a stub's behaviour by attempt.
//
// VerifyGolden checks a recorded run (a golden journal written by
// `ordo gen-test`) against the harness's definitions and step functions:
// the definition must decide what the journal recorded, and every step
// attempt must give the output, state patch and effects it gave then.
//
// The harness fails the test (t.Fatalf) on a journal or engine error: such
// errors are bugs of the test or the engine, not of the workflow.
package orchestratortest
