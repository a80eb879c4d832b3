package semantictest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestDocsStepTypes keeps the examples of docs/definitions.md for map,
// sub, event, async, asynchronous invokes, compensation and deferred keys honest: each YAML
// block loads and hashes like the Go beside it (repeated here).
func TestDocsStepTypes(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "definitions.md"))
	if err != nil {
		t.Fatalf("docs/definitions.md must be readable from the test (its examples are checked here): %v", err)
	}
	_, section, ok := strings.Cut(string(doc), "### map\n")
	if !ok {
		t.Fatal(`docs/definitions.md has no "### map" section`)
	}
	section, _, _ = strings.Cut(section, "## A complete example")
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(section, -1)
	want := []*workflow.Builder{
		workflow.New("notify-all",
			workflow.Output("steps.send.output"),
			workflow.Map("send", "send-email", "input.recipients",
				workflow.Input(`{"to": item, "n": index, "subject": input.subject}`),
				workflow.MaxConcurrency(50), workflow.Tolerate(0, 5),
				workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Second)}))),
		workflow.New("order",
			workflow.Sub("pay", "payment",
				workflow.Input(`{"orderId": input.orderId, "amount": input.total}`),
				workflow.Retry(workflow.RetryPolicy{MaxAttempts: 1})),
			workflow.Step("ship", "ship", workflow.After("pay"), workflow.Input("steps.pay.output"))),
		workflow.New("expense",
			workflow.Output("steps.approval.output"),
			workflow.Step("submit", "submit-expense"),
			workflow.Await("approval", "approved", workflow.After("submit"),
				workflow.Timeout(72*time.Hour), workflow.Retry(workflow.RetryPolicy{MaxAttempts: 1}))),
		workflow.New("kyc",
			workflow.Step("review", "request-manual-review", workflow.Async(), workflow.Timeout(24*time.Hour))),
		workflow.New("invoice",
			workflow.Step("render-invoice", "render-invoice", workflow.Invoke(workflow.InvokeAsync), workflow.Timeout(2*time.Minute))),
		workflow.New("trip",
			workflow.OnFailure(workflow.OnFailureCompensate),
			workflow.Step("flight", "book-flight", workflow.CompensateWith("cancel-flight")),
			workflow.Step("hotel", "book-hotel", workflow.CompensateWith("cancel-hotel"), workflow.After("flight")),
			workflow.Step("pay", "charge-card", workflow.After("hotel"))),
		workflow.New("account-sync",
			workflow.Key("input.syncId"),
			workflow.DeferredBy("input.accountId"),
			workflow.Step("sync", "sync-account")),
	}
	if len(blocks) != len(want) {
		t.Fatalf("%d yaml examples, want %d", len(blocks), len(want))
	}
	for i, b := range want {
		dsl := b.MustBuild()
		y, err := workflow.Load([]byte(blocks[i][1]), "docs/definitions.md")
		if err != nil {
			t.Errorf("example %d (%s): %v", i+1, dsl.Name, err)
			continue
		}
		if dsl.Hash() != y.Hash() {
			t.Errorf("example %d: YAML and Go differ:\n%s\n%s", i+1, y.CanonicalJSON(), dsl.CanonicalJSON())
		}
	}
}
