package semantictest

import (
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var versionTests = []test{
	{"RunsFinishOnTheirVersion", testVersions},
}

// DefineVersion defines version v ("1" or "2") of "versioned": it waits for
// the event "go", then outputs "v<v>".
func (h *Harness) DefineVersion(v string) *workflow.Definition {
	h.T.Helper()
	return h.Define(workflow.New("versioned",
		workflow.Version(v),
		workflow.Output("steps.v.output"),
		workflow.Await("hold", "go"),
		workflow.Pass("v", `"v`+v+`"`, workflow.After("hold")),
	), `
name: versioned
version: "`+v+`"
output: steps.v.output
steps:
  - {name: hold, type: event, event: go}
  - {name: v, type: pass, after: [hold], output: '"v`+v+`"'}
`)
}

func testVersions(t *testing.T, h *Harness) {
	v1 := h.DefineVersion("1")
	old := []string{h.Start("versioned", `{"n": 1}`), h.Start("versioned", `{"n": 2}`)}
	for _, run := range old {
		h.Scheduled(run, "hold", 1)
	}
	v2 := h.DefineVersion("2")
	if v1.Hash() == v2.Hash() {
		t.Fatal("the versions hash the same")
	}
	if d, _ := h.RT.Engine.Workflow("versioned"); d.Hash() != v2.Hash() {
		t.Errorf("the engine's latest definition is %s, want v2", d.Version)
	}
	fresh := h.Start("versioned", `{"n": 3}`)
	h.Scheduled(fresh, "hold", 1)
	for _, tc := range []struct {
		run, hash, output string
	}{{old[0], v1.Hash(), `"v1"`}, {old[1], v1.Hash(), `"v1"`}, {fresh, v2.Hash(), `"v2"`}} {
		if got := h.Events(tc.run)[0].DefHash; got != tc.hash {
			t.Errorf("%s pinned %s, want %s", tc.run, got, tc.hash)
		}
		h.Signal(tc.run, "go", `true`)
		h.Wait(tc.run, journal.StatusCompleted)
		jsonEq(t, tc.run+" output", h.Output(tc.run), tc.output)
		if got := h.Head(tc.run).DefHash; got != tc.hash {
			t.Errorf("%s head has definition %s, want %s", tc.run, got, tc.hash)
		}
	}
}
