package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/workflows"
)

func TestRunsRejectsUnknownStatusAndWorkflow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	// Read commands never create a journal: make one with a run in it.
	if err := ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(0))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"runs", "--status", "reveiw"}, []string{`status "reveiw"`, "review", "running", "deferred"}},
		{[]string{"runs", "--workflow", "oder"}, []string{`workflow "oder"`, "order"}},
	} {
		err := ordo(t, db, tc.args...)
		if err == nil {
			t.Errorf("ordo %v: no error", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ordo %v: %v, want it to mention %q", tc.args, err, w)
			}
		}
	}
	if err := ordo(t, db, "runs", "--status", "review", "--workflow", "order"); err != nil {
		t.Errorf("a valid status and workflow: %v", err)
	}
	// A bad flag is reported before the journal is looked for.
	missing := filepath.Join(t.TempDir(), "none.db")
	if err := ordo(t, missing, "runs", "--status", "reveiw"); err == nil || !strings.Contains(err.Error(), `status "reveiw"`) {
		t.Errorf("a bad status on a missing journal: %v, want the status named", err)
	}
}
