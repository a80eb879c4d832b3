package stephttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/stephttp"
)

// TestNodeHTTPStep runs a workflow whose step is a JavaScript HTTP server
// (testdata/step.js): its result and its terminal failure cross as the
// protocol says.
func TestNodeHTTPStep(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			t.Fatal("no node on PATH")
		}
		t.Skip("no node on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/step.js")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the node step did not say its port: %v", err)
	}
	reg := step.NewRegistry()
	if err := (stephttp.Mapping{"stock-reserve": "http://127.0.0.1:" + strings.TrimSpace(port) + "/"}).Register(reg); err != nil {
		t.Fatal(err)
	}
	def := workflow.New("stock", workflow.Key("input.id"), workflow.Step("reserve", "stock-reserve")).MustBuild(workflow.Functions(reg.Has))
	rt := embedded.New(memjournal.New(), reg)
	defer rt.Close()
	if err := rt.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		input string
		want  journal.Status
	}{
		{`{"id":"s1","qty":2}`, journal.StatusCompleted},
		{`{"id":"s2","qty":0}`, journal.StatusReview},
	} {
		st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "stock", Input: json.RawMessage(tt.input)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := rt.Wait(ctx, st.Run)
		if err != nil || got != tt.want {
			t.Fatalf("%s: %s %v, want %s", tt.input, got, err, tt.want)
		}
		_, events, _ := rt.Engine.Store().Load(ctx, st.Run)
		for _, e := range events {
			switch {
			case e.Kind == journal.StepSucceeded && string(e.Output) != `{"reserved":2,"attempt":1}`:
				t.Errorf("output %s", e.Output)
			case e.Kind == journal.StepFailed && (e.Error == nil || e.Error.Kind != "bad-quantity" || !e.Error.Terminal):
				t.Errorf("failure %+v", e.Error)
			}
		}
	}
}
