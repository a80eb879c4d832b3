package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/steplambda"
)

// attempt names one step attempt of a run.
type attempt struct {
	run, step    string
	attempt      int
	index        int
	compensation bool
}

func (a attempt) String() string {
	return fmt.Sprintf("%s %s#%d[%d] comp=%v", a.run, a.step, a.attempt, a.index, a.compensation)
}

// invocations counts the step Lambdas' own invocations of run's attempts,
// from the line each logs per invocation (steplambda.InvokedMessage).
func invocations(run string) map[attempt]int {
	out := map[attempt]int{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "{")
		if i < 0 || !strings.Contains(line, steplambda.InvokedMessage) {
			continue
		}
		var m struct {
			Msg          string `json:"msg"`
			Run          string `json:"run"`
			Step         string `json:"step"`
			Attempt      int    `json:"attempt"`
			Index        int    `json:"index"`
			Compensation bool   `json:"compensation"`
		}
		if json.Unmarshal([]byte(line[i:]), &m) != nil || m.Msg != steplambda.InvokedMessage || m.Run != run {
			continue
		}
		out[attempt{m.Run, m.Step, m.Attempt, m.Index, m.Compensation}]++
	}
	return out
}

// perAttempt returns the journaled attempts of runs (StepScheduled of task
// steps) and the step Lambdas' invocations of them.
func perAttempt(t *testing.T, runs ...string) (attempts, invoked int, doubled []string) {
	t.Helper()
	for _, run := range runs {
		head, events, err := store.Load(context.Background(), run)
		if err != nil {
			t.Fatalf("load %s: %v", run, err)
		}
		tasks := taskSteps(t, head.DefHash)
		calls := invocations(run)
		for _, e := range events {
			if e.Kind != journal.StepScheduled || !tasks[e.Step] {
				continue
			}
			a := attempt{run, e.Step, e.Attempt, e.Index, e.Compensation}
			attempts++
			invoked += calls[a]
			if calls[a] != 1 {
				doubled = append(doubled, fmt.Sprintf("%s invoked %d times", a, calls[a]))
			}
		}
	}
	sort.Strings(doubled)
	return attempts, invoked, doubled
}

// onePerAttempt fails unless every journaled attempt of runs was invoked
// exactly once, and reports the ratio.
func onePerAttempt(t *testing.T, scenario string, runs ...string) {
	t.Helper()
	attempts, invoked, doubled := perAttempt(t, runs...)
	ratio := 0.0
	if attempts > 0 {
		ratio = float64(invoked) / float64(attempts)
	}
	t.Logf("%s: %d journaled attempts, %d invocations: %.2f per attempt", scenario, attempts, invoked, ratio)
	if attempts == 0 || len(doubled) > 0 {
		t.Errorf("%s: %.2f invocations per journaled attempt, want 1.00: %v", scenario, ratio, doubled)
	}
}

// quiesce polls until the stack's queues hold no message (visible, in
// flight or delayed) twice in a row: every delivery has been handled.
// Only tests that are not parallel may rely on it.
func quiesce(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	quiet := 0
	for quiet < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the queues did not drain in %s", within)
		}
		if queued(t) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queued counts the messages of the orders, orchestrator and effects queues.
func queued(t *testing.T) int {
	t.Helper()
	n := 0
	for _, q := range []string{"OrdersQueue", "OrchestratorQueue", "EffectsQueue"} {
		out, err := sqsc.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(resource(t, q).URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err != nil {
			t.Fatalf("attributes of %s: %v", q, err)
		}
		for _, v := range out.Attributes {
			c, _ := strconv.Atoi(v)
			n += c
		}
	}
	return n
}

// TestResubmitThroughTheAPIFunction sends a declined order to review,
// resubmits its charge through the API Lambda with a good card, and
// checks the run completes with each attempt invoked once.
func TestResubmitThroughTheAPIFunction(t *testing.T) {
	needStack(t)
	t.Parallel()
	id := fmt.Sprintf("resub-%d", time.Now().UnixNano())
	run := "order/" + id
	body, _ := json.Marshal(map[string]any{"workflow": "order", "input": json.RawMessage(sampleOrder(t, 24, id))})
	if code, resp := apiCall(t, "POST", "/v1/runs", string(body)); code != 201 {
		t.Fatalf("start: %d %s", code, resp)
	}
	head, events := settle(t, run, 2*time.Minute)
	if head.Status != journal.StatusReview {
		t.Fatalf("declined order: %s, want review", head.Status)
	}
	var charge map[string]any
	for _, e := range events {
		if e.Kind == journal.StepScheduled && e.Step == "charge" {
			_ = json.Unmarshal(e.Input, &charge)
		}
	}
	order, _ := charge["order"].(map[string]any)
	payment, _ := order["payment"].(map[string]any)
	if payment == nil {
		t.Fatalf("charge input has no order.payment: %v", charge)
	}
	payment["cardNumber"] = "4242424242424242"
	edit, _ := json.Marshal(map[string]any{"by": "e2e", "step": "charge", "input": charge, "reason": "customer gave another card"})
	if code, resp := apiCall(t, "POST", "/v1/runs/"+run+"/resubmit", string(edit)); code/100 != 2 {
		t.Fatalf("resubmit: %d %s", code, resp)
	}
	if head, _ := settle(t, run, 2*time.Minute); head.Status != journal.StatusCompleted {
		t.Fatalf("resubmitted run: %s, want completed", head.Status)
	}
	onePerAttempt(t, "resubmit through the API", run)
}

// taskSteps names the task steps (the ones a Lambda runs) of the stored
// definition with hash.
func taskSteps(t *testing.T, hash string) map[string]bool {
	t.Helper()
	stored, err := store.Definition(context.Background(), hash)
	if err != nil {
		t.Fatalf("definition %s: %v", hash, err)
	}
	def, err := workflow.Load(stored.JSON, stored.Name+"@"+stored.Version)
	if err != nil {
		t.Fatalf("definition %s: %v", hash, err)
	}
	tasks := map[string]bool{}
	for _, n := range def.Steps {
		if n.StepType() == workflow.TypeTask {
			tasks[n.Name] = true
		}
	}
	return tasks
}
