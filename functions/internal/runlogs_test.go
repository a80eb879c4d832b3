package internal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

// lockedBuffer is a bytes.Buffer safe for the stack's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunLogsNameWorkflowRunStepAndAttempt runs an order whose reserve
// step fails once (a retry) and whose steps emit effects through the
// Lambdas' wiring, logging as their mains do (JSON through
// observe.LogHandler), and checks every line about the run: it names the
// workflow; a line about a step or one of its effects names the step and
// the attempt.
func TestRunLogsNameWorkflowRunStepAndAttempt(t *testing.T) {
	ctx := context.Background()
	var buf lockedBuffer
	log := slog.New(observe.LogHandler(slog.NewJSONHandler(&buf, nil)))
	reg := step.NewRegistry()
	workflows.Register(reg)
	store := memjournal.New()
	stack, err := lambdatest.Start(lambdatest.Config{Store: store, Registry: reg, Drivers: 2, Log: log,
		Effects: map[string]effect.Handler{"email": internal.LogEffect(log), "publish": internal.LogEffect(log)},
		Setup: func(ctx context.Context, e *orchestrator.Engine) error {
			_, err := workflows.Setup(ctx, e)
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	// Order 10 has a low-stock SKU: reserve fails on attempt 1, then succeeds.
	body, _ := json.Marshal(map[string]any{"workflow": "order", "input": workflows.SampleOrder(10)})
	if err := stack.Send(ctx, lambdatest.OrdersQueue, string(body)); err != nil {
		t.Fatal(err)
	}
	run := waitOnlyRun(t, store, "order")
	waitEffects(t, store, run)
	stack.Close()

	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if m["run"] != run {
			continue
		}
		seen[m["msg"].(string)]++
		if m["workflow"] != "order" {
			t.Errorf("line without the workflow: %s", line)
		}
		if _, ok := m["effect"]; ok && m["step"] == nil {
			t.Errorf("an effect's line without its step: %s", line)
		}
		if m["step"] != nil && m["attempt"] == nil {
			t.Errorf("a step's line without the attempt: %s", line)
		}
	}
	if seen["step failed"] == 0 || seen["effect"] == 0 {
		t.Errorf("lines about the run: %v; want the reserve failure and the effects among them", seen)
	}
}
