package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRunsRejectsUnknownStatusAndWorkflow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	pushNote(t, db)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"runs", "--status", "reveiw"}, []string{`status "reveiw"`, "review", "running", "deferred"}},
		{[]string{"runs", "--workflow", "oder"}, []string{`workflow "oder"`, "order", "note"}},
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
}
