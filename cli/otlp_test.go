package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/observe/otlp/otlptest"
	"github.com/ordoflow/ordo/workflows"
)

// `ordo dev --otlp URL --traces FILE`: an order's trace goes to the
// collector (trigger, commits, each step, each effect, all in the run's
// trace, under the service OTEL_SERVICE_NAME names) and to the file.
func TestDevSendsTracesOverOTLP(t *testing.T) {
	rcv := otlptest.NewReceiver()
	defer rcv.Close()
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50") // export every 50 ms
	t.Setenv("OTEL_SERVICE_NAME", "ordo-dev-test")
	db := filepath.Join(t.TempDir(), "ordo.db")
	file := filepath.Join(t.TempDir(), "traces.json")
	addr := freeAddr(t)
	serve(t, db, addr, "dev", "--addr", addr, "--otlp", rcv.URL(), "--traces", file)
	order := workflows.SampleOrder(0)
	if err := ordo(t, db, "start", "order", "--input", string(order), "--addr", "http://"+addr); err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	json.Unmarshal(order, &o)
	run := "order/" + o["orderId"].(string)
	traceID := observe.RunTrace(run).TraceID().String()
	want := []string{"trigger ", "orchestrator.commit", "step verify", "step ship", "effect email", "effect publish"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := map[string]bool{}
		for _, s := range rcv.Spans() {
			if s.TraceID != traceID {
				t.Fatalf("span %q in trace %s, want the run's %s", s.Name, s.TraceID, traceID)
			}
			if s.Service != "ordo-dev-test" {
				t.Fatalf("span %q from service %q, want OTEL_SERVICE_NAME's", s.Name, s.Service)
			}
			for _, w := range want {
				got[w] = got[w] || strings.HasPrefix(s.Name, w)
			}
		}
		if len(got) == len(want) && allTrue(got) {
			break
		}
		if time.Now().After(deadline) {
			h, _ := head(t, db, run)
			t.Fatalf("run %s (%s): spans %v, want %v", run, h.Status, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h, _ := head(t, db, run); h.Status != journal.StatusCompleted {
		t.Errorf("run %s: %s, want completed", run, h.Status)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(file)
		if strings.Contains(string(b), `"Name":"step verify"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("--traces file has no span of the run: %.300s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allTrue(m map[string]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return true
}
