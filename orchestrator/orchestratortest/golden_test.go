package orchestratortest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/orchestrator/orchestratortest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// failures is a testing.TB that records failures instead of failing the
// test running it.
type failures struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}
func (f *failures) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// verifyGolden runs VerifyGolden on a harness built by build and returns
// what it reported.
func verifyGolden(t *testing.T, path string, build func(testing.TB) *orchestratortest.Harness) []string {
	f := &failures{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		build(f).VerifyGolden(path)
	}()
	<-done
	return f.msgs
}

func TestVerifyGolden(t *testing.T) {
	def := shipping()
	h := orchestratortest.New(t, registry(), []*workflow.Definition{def})
	run := h.Run("ship", map[string]string{"order": "o-9"})
	rec, err := verify.Record(context.Background(), h.Store, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), verify.FileName(run.ID))
	f, _ := os.Create(path)
	if err := rec.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	same := func(tb testing.TB) *orchestratortest.Harness {
		return orchestratortest.New(tb, registry(), []*workflow.Definition{def})
	}
	if got := verifyGolden(t, path, same); len(got) != 0 {
		t.Errorf("unchanged code: %q", got)
	}
	changed := func(tb testing.TB) *orchestratortest.Harness {
		h := same(tb)
		h.Stub("dispatch", step.HandlerFunc(func(context.Context, step.Request) (step.Result, error) {
			return step.Result{Output: []byte(`"sent by pigeon"`)}, nil
		}))
		return h
	}
	got := strings.Join(verifyGolden(t, path, changed), "\n")
	if !strings.Contains(got, "FAIL dispatch attempt 1 (dispatch)") || !strings.Contains(got, `got "sent by pigeon"`) {
		t.Errorf("a changed step: %q", got)
	}
	gone := func(tb testing.TB) *orchestratortest.Harness { return orchestratortest.New(tb, registry(), nil) }
	got = strings.Join(verifyGolden(t, path, gone), "\n")
	if !strings.Contains(got, verify.ErrUnknownWorkflow.Error()) || !strings.Contains(got, `"ship"`) {
		t.Errorf("a workflow that no longer exists: %q", got)
	}
	reordered := workflow.New("ship",
		workflow.Step("label", "make-label", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 5,
			InitialInterval: workflow.Duration(5 * time.Minute), BackoffCoefficient: 3, MaxInterval: workflow.Duration(time.Hour)})),
		workflow.Step("dispatch", "dispatch", workflow.After("label"), workflow.Input(`{"label": steps.label.output}`)),
	).MustBuild()
	got = strings.Join(verifyGolden(t, path, func(tb testing.TB) *orchestratortest.Harness {
		return orchestratortest.New(tb, registry(), []*workflow.Definition{reordered})
	}), "\n")
	if !strings.Contains(got, "diverges at event") || !strings.Contains(got, `step "cool-off"`) {
		t.Errorf("a definition without the wait: %q", got)
	}
	os.WriteFile(path, []byte(`{"format":"ordo-recording/1","run":{"id":"ship/x"},"commits":[`), 0o644)
	got = strings.Join(verifyGolden(t, path, same), "\n")
	if !strings.Contains(got, verify.ErrCorrupt.Error()) || !strings.Contains(got, "truncated") {
		t.Errorf("a truncated recording: %q", got)
	}
}
