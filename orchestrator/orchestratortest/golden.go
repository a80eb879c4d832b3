package orchestratortest

import (
	"github.com/ordoflow/ordo/orchestrator/verify"
)

// VerifyGolden checks the recorded run in the recording file path (see
// package verify; `ordo gen-test` writes them) against the harness's
// definitions and steps, stubs included: the workflow's registered
// definition must decide what the journal recorded, and every recorded
// step attempt, re-executed, must give the output, state patch and effects
// (or the error) it gave then, the recording's volatile fields aside. Each
// difference fails the test with the step, the attempt and a JSON diff.
func (h *Harness) VerifyGolden(path string) {
	h.t.Helper()
	rec, err := verify.ReadFile(path)
	if err != nil {
		h.t.Fatalf("orchestratortest: %v", err)
	}
	def, ok := h.Engine.Workflow(rec.Run.Workflow)
	if !ok {
		h.t.Fatalf("orchestratortest: %s: %v: run %s is of workflow %q, which is not registered", path,
			verify.ErrUnknownWorkflow, rec.Run.ID, rec.Run.Workflow)
	}
	if err := verify.Replay(rec, def); err != nil {
		h.t.Errorf("%s: %v", path, err)
	}
	v := &verify.Verifier{Invoker: h.invoker, Config: rec.Config}
	checks, err := v.Steps(h.ctx, rec, def)
	if err != nil {
		h.t.Fatalf("orchestratortest: %s: %v", path, err)
	}
	for _, c := range checks {
		if c.Outcome == verify.Fail {
			h.t.Errorf("%s: %s", path, c)
		}
	}
}
