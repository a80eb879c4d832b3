package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// setupSource is a team's setup package: the OMS workflows with the
// order-ship function wrapped, so the test can change its behaviour
// (at the MUTATE line).
const setupSource = `package shipcode

import (
	"context"
	"encoding/json"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

func Setup(ctx context.Context, r workflows.Registrar) (*step.Registry, error) {
	base := step.NewRegistry()
	workflows.Register(base)
	reg := step.NewRegistry()
	for _, n := range base.Names() {
		h, _ := base.Lookup(n)
		if n == "order-record-history" {
			h = ship(h)
		}
		reg.Register(n, h)
	}
	defs, err := workflows.Definitions(reg)
	if err != nil {
		return nil, err
	}
	return reg, r.Register(ctx, defs...)
}

func ship(h step.Handler) step.Handler {
	return step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		res, err := h.Handle(ctx, req)
		if err != nil {
			return res, err
		}
		var out map[string]any
		if err := json.Unmarshal(res.Output, &out); err != nil {
			return res, err
		}
		// MUTATE
		res.Output, err = json.Marshal(out)
		return res, err
	})
}
`

// TestGenTestGeneratesAPassingTestThatCatchesChanges generates a test from
// recorded runs, runs it with go test, changes a step and runs it again.
func TestGenTestGeneratesAPassingTestThatCatchesChanges(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	// The generated package must be inside this module to import it; a
	// directory starting with _ stays out of ./... patterns.
	dir, err := os.MkdirTemp(".", "_gentest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	setupDir := filepath.Join(dir, "shipcode")
	os.MkdirAll(setupDir, 0o755)
	setupFile := filepath.Join(setupDir, "setup.go")
	if err := os.WriteFile(setupFile, []byte(setupSource), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "ordo.db")
	placeOrders(t, db, 1, 6, 10, 24)
	out := filepath.Join(dir, "regress")
	pkg := "github.com/ordoflow/ordo/cli/" + filepath.ToSlash(filepath.Clean(dir))
	if msg, err := ordoOut(t, db, "gen-test", "--workflow", "order", "--distinct", "--out", out,
		"--setup", pkg+"/shipcode.Setup"); err != nil || !strings.Contains(msg, "4 recordings") {
		t.Fatalf("gen-test: %v\n%s", err, msg)
	}
	if msg, err := goTest(t, out); err != nil {
		t.Fatalf("the generated test fails on unchanged code: %v\n%s", err, msg)
	}
	mutated := strings.Replace(setupSource, "// MUTATE", `out["service"] = "express"`, 1)
	if err := os.WriteFile(setupFile, []byte(mutated), 0o644); err != nil {
		t.Fatal(err)
	}
	msg, err := goTest(t, out)
	if err == nil {
		t.Fatalf("the generated test passes after history changed:\n%s", msg)
	}
	// The steps that receive the card number (sealed, recorded as
	// [redacted]) are not re-executed; history, which does not, is.
	if !strings.Contains(msg, `FAIL history attempt 1 (order-record-history)`) || !strings.Contains(msg, `output.service: recorded (absent), got "express"`) {
		t.Errorf("the failure does not show the step and the diff:\n%s", msg)
	}
}

func goTest(t *testing.T, dir string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", "test", "-count=1", "./"+filepath.ToSlash(dir))
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// TestGenTestOpenSealed checks --open-sealed: the recordings carry the
// card number in clear (opened with the journal's key), and without that
// key the command fails saying so, writing nothing.
func TestGenTestOpenSealed(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	placeOrders(t, db, 1, 2, 2, 2)
	out := filepath.Join(t.TempDir(), "regress")
	if msg, err := ordoOut(t, db, "gen-test", "--workflow", "order", "--out", out, "--open-sealed"); err != nil {
		t.Fatalf("gen-test --open-sealed: %v\n%s", err, msg)
	}
	recs, _ := filepath.Glob(filepath.Join(out, "testdata", "*.json"))
	if len(recs) == 0 {
		t.Fatal("no recordings written")
	}
	b, err := os.ReadFile(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"[redacted]"`) || strings.Contains(string(b), `$ordo.enc`) || !strings.Contains(string(b), `"cardNumber"`) {
		t.Errorf("recording %s still holds sealed values or no card:\n%.2000s", recs[0], b)
	}

	if err := os.Remove(db + ".sealing-key"); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "regress")
	msg, err := ordoOut(t, db, "gen-test", "--workflow", "order", "--out", out2, "--open-sealed")
	if err == nil || !strings.Contains(err.Error()+msg, "sealing key") {
		t.Errorf("gen-test --open-sealed without the key: err %v\n%s", err, msg)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Errorf("%s written although the recordings could not be opened", out2)
	}
}
