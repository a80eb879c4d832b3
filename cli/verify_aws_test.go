package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

// TestVerifyProductionRun verifies a run recorded on a DynamoDB journal
// (DynamoDB Local standing in for production): where it is, with
// --journal dynamodb://TABLE, and after `ordo pull` into a local journal,
// where a changed step is caught too.
func TestVerifyProductionRun(t *testing.T) {
	client := dynamotest.Client(t)
	table := dynamotest.Table(t, client)
	ctx := context.Background()
	src := dynamojournal.New(client, table)
	reg := step.NewRegistry()
	workflows.Register(reg)
	defs, err := workflows.Definitions(reg)
	if err != nil {
		t.Fatal(err)
	}
	// The deployment's sealing key, as a key file beside a journal path
	// verify is given (--db): the order's card number is sealed with it.
	dir := t.TempDir()
	prod := filepath.Join(dir, "prod.db")
	keys, err := localkey.LoadFile(prod + ".sealing-key")
	if err != nil {
		t.Fatal(err)
	}
	rt := embedded.New(src, reg, embedded.WithSealer(keys))
	defer rt.Close()
	for _, kind := range []string{"email", "publish"} {
		rt.Effects.Handle(kind, effect.HandlerFunc(func(context.Context, string, journal.Effect) error { return nil }))
	}
	if err := rt.Engine.Register(ctx, defs...); err != nil {
		t.Fatal(err)
	}
	// Sample order 10 holds a short-stock SKU: reserving is retried once.
	st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "order", Input: workflows.SampleOrder(10)})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := rt.Wait(ctx, st.Run); err != nil || status != journal.StatusCompleted {
		t.Fatalf("run on DynamoDB: %s %v", status, err)
	}

	// Without the key, the attempts that got the card are not re-executed,
	// and verify says why.
	out, err := ordoArgs(t, "--db", filepath.Join(dir, "nokey.db"), "--journal", "dynamodb://"+table, "verify", st.Run)
	if err != nil || !strings.Contains(out, "SKIP reserve attempt 2 (order-reserve-inventory): its recorded input holds sealed values and no key") {
		t.Fatalf("verify on the DynamoDB journal without the key: %v\n%s", err, out)
	}
	out, err = ordoArgs(t, "--db", prod, "--journal", "dynamodb://"+table, "verify", st.Run)
	if err != nil || !strings.Contains(out, "PASS reserve attempt 2 (order-reserve-inventory)") {
		t.Fatalf("verify on the DynamoDB journal: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "home.db")
	if err := run(t, sample, "pull", st.Run, "--from", "dynamodb://"+table, "--to", db); err != nil {
		t.Fatal(err)
	}
	// The pulled journal's values stay sealed: verify opens them with the
	// deployment's key, given beside it.
	if b, err := os.ReadFile(prod + ".sealing-key"); err != nil || os.WriteFile(db+".sealing-key", b, 0o600) != nil {
		t.Fatal(err)
	}
	if out, err := ordoOut(t, db, "verify", st.Run); err != nil || !strings.Contains(out, "0 failed") {
		t.Fatalf("verify of the pulled run: %v\n%s", err, out)
	}
	if out, err := ordoOut(t, db, "replay", "--definition", "order@2", "--runs", st.Run); err != nil {
		t.Fatalf("replay of the pulled run: %v\n%s", err, out)
	}
	withStep(t, "order-reserve-inventory", func(h step.Handler) step.Handler {
		return step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
			req.Attempt = 2 // the shortage is no longer retried: attempt 1 succeeds
			return h.Handle(ctx, req)
		})
	})
	out, err = ordoOut(t, db, "verify", st.Run)
	if !errors.Is(err, errMismatch) || !strings.Contains(out, "FAIL reserve attempt 1 (order-reserve-inventory): recorded a failure") {
		t.Errorf("a changed step on the pulled run: %v\n%s", err, out)
	}
}

// ordoArgs runs the sample CLI with args and returns what it printed.
func ordoArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := Command(App{Register: workflows.Register, Definitions: workflows.Definitions})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}
