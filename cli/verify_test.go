package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/stephttp"
	"github.com/ordoflow/ordo/workflows"
)

// ordoOut runs the CLI with args on db and returns what it printed.
func ordoOut(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	root := Command(App{Register: workflows.Register, Definitions: workflows.Definitions, Setup: "github.com/ordoflow/ordo/workflows.Setup"})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"--db", db}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// placeOrders records sample orders i in is and returns their run ids.
func placeOrders(t *testing.T, db string, is ...int) []string {
	t.Helper()
	var runs []string
	for _, i := range is {
		if err := ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(i))); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, fmt.Sprintf("order/ord-%06d", i))
	}
	return runs
}

// withStep makes loadCode return the OMS code with function fn replaced.
func withStep(t *testing.T, fn string, wrap func(step.Handler) step.Handler) {
	t.Helper()
	orig := loadCode
	t.Cleanup(func() { loadCode = orig })
	loadCode = func(g *Env) (*code, error) {
		c, err := orig(g)
		if err != nil {
			return nil, err
		}
		reg := step.NewRegistry()
		for _, n := range c.reg.Names() {
			h, _ := c.reg.Lookup(n)
			if n == fn {
				h = wrap(h)
			}
			reg.Register(n, h)
		}
		c.reg = reg
		return c, nil
	}
}

func TestVerifyCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	runs := placeOrders(t, db, 1, 6, 10, 24) // plain, digital, short stock, declined
	out, err := ordoOut(t, db, "verify", "--workflow", "order")
	if err != nil {
		t.Fatalf("verify of unchanged code: %v\n%s", err, out)
	}
	if !strings.Contains(out, "PASS charge attempt 1 (order-charge-payment)") || !strings.Contains(out, "4 runs") ||
		!strings.Contains(out, "0 failed") {
		t.Errorf("verify output:\n%s", out)
	}

	// The ship step now stamps a carrier it did not before.
	withStep(t, "order-ship", func(h step.Handler) step.Handler {
		return step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
			res, err := h.Handle(ctx, req)
			if err == nil {
				var o map[string]any
				_ = json.Unmarshal(res.Output, &o)
				o["carrier"] = "ACME"
				res.Output, _ = json.Marshal(o)
			}
			return res, err
		})
	})
	out, err = ordoOut(t, db, "verify", "--workflow", "order", "-q")
	if !errors.Is(err, errMismatch) || strings.Contains(out, "PASS") ||
		strings.Count(out, "FAIL ship attempt 1 (order-ship)") != 3 || !strings.Contains(out, "3 failed") {
		t.Errorf("verify -q of a changed step (ship ran in 3 of 4 runs): %v\n%s", err, out)
	}
	out, err = ordoOut(t, db, "verify", runs[0], "--format", "json")
	if !errors.Is(err, errMismatch) {
		t.Fatalf("verify of a changed step: %v, want a mismatch", err)
	}
	var rep verifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out)
	}
	var diffs []verify.Diff
	for _, c := range rep.Runs[0].Checks {
		if c.Outcome == verify.Fail {
			diffs = append(diffs, c.Diffs...)
			if c.Step != "ship" {
				t.Errorf("%s failed; only ship changed", c.Name())
			}
		}
	}
	if len(diffs) != 1 || diffs[0].Path != "output.carrier" || diffs[0].Got != `"ACME"` || rep.Failed != 1 {
		t.Errorf("diffs %+v, want output.carrier added", diffs)
	}

	// A volatile rule declares the field: no false failure.
	cfg := filepath.Join(t.TempDir(), "verify.yaml")
	os.WriteFile(cfg, []byte("volatile:\n  order/ship: [output.carrier]\n"), 0o644)
	if out, err := ordoOut(t, db, "verify", runs[0], "--config", cfg); err != nil {
		t.Errorf("with output.carrier volatile: %v\n%s", err, out)
	}
}

func TestVerifyCLIErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	runs := placeOrders(t, db, 1)
	if _, err := ordoOut(t, db, "verify", "order/nope"); !errors.Is(err, errMismatch) {
		t.Errorf("unknown run: %v", err)
	}
	out, _ := ordoOut(t, db, "verify", "order/nope")
	if !strings.Contains(out, "order/nope") || !strings.Contains(out, "not found") {
		t.Errorf("unknown run: output does not say so:\n%s", out)
	}
	orig := loadCode
	t.Cleanup(func() { loadCode = orig })
	loadCode = func(g *Env) (*code, error) {
		c, err := orig(g)
		if err == nil {
			delete(c.defs, "order")
		}
		return c, err
	}
	out, err := ordoOut(t, db, "verify", runs[0])
	if err == nil || !strings.Contains(out, `workflow "order", which the current code does not define`) {
		t.Errorf("workflow gone: %v\n%s", err, out)
	}
	if _, err := ordoOut(t, db, "verify"); err == nil || !strings.Contains(err.Error(), "--workflow") {
		t.Errorf("nothing selected: %v", err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, []byte("not a journal"), 0o644)
	if _, err := ordoOut(t, garbage, "verify", "--workflow", "order"); err == nil || !strings.Contains(err.Error(), "not a database") ||
		!strings.Contains(err.Error(), garbage) {
		t.Errorf("a file that is not a journal: %v", err)
	}
}

func TestReplayCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	placeOrders(t, db, 1, 10)
	if out, err := ordoOut(t, db, "replay", "--definition", "../workflows/order/order.yaml"); err != nil {
		t.Fatalf("replay under the same definition: %v\n%s", err, out)
	}
	if out, err := ordoOut(t, db, "replay", "--definition", "order@2", "--runs", "order/ord-000001"); err != nil ||
		!strings.Contains(out, "1 of 1 runs decide the same") {
		t.Fatalf("replay of a stored version: %v\n%s", err, out)
	}
	y, err := os.ReadFile("../workflows/order/order.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Version 3 drops the fraud check.
	v3 := strings.Replace(string(y), "version: \"2\"", "version: \"3\"", 1)
	v3 = strings.Replace(v3, "  - name: fraud\n    function: order-fraud-check\n    after: [verify]\n    timeout: 10s\n", "", 1)
	v3 = strings.Replace(v3, "after: [fraud, reserve]", "after: [reserve]", 1)
	file := filepath.Join(t.TempDir(), "order-v3.yaml")
	os.WriteFile(file, []byte(v3), 0o644)
	out, err := ordoOut(t, db, "replay", "--definition", file)
	if !errors.Is(err, errMismatch) || !strings.Contains(out, `DRIFT  run order/ord-000001 diverges at event 4`) ||
		!strings.Contains(out, `step "fraud" is not in definition order@3`) {
		t.Errorf("replay of a definition without fraud: %v\n%s", err, out)
	}
	if _, err := ordoOut(t, db, "replay", "--definition", "order@9"); err == nil || !strings.Contains(err.Error(), "order@9") {
		t.Errorf("unknown version: %v", err)
	}
}

// TestVerifyOverHTTP verifies steps served over HTTP (the step protocol):
// the served ship step, unchanged, passes; changed, it fails.
func TestVerifyOverHTTP(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	runs := placeOrders(t, db, 1)
	reg := step.NewRegistry()
	workflows.Register(reg)
	ship, _ := reg.Lookup("order-ship")
	var calls atomic.Int32
	changed := atomic.Bool{}
	srv := httptest.NewServer(stephttp.Handler(step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		calls.Add(1)
		res, err := ship.Handle(ctx, req)
		if changed.Load() && err == nil {
			res.Output = json.RawMessage(`{"lost":true}`)
		}
		return res, err
	})))
	defer srv.Close()
	mapping := filepath.Join(t.TempDir(), "steps.yaml")
	os.WriteFile(mapping, []byte("steps:\n  order-ship: "+srv.URL+"\n"), 0o644)
	if out, err := ordoOut(t, db, "verify", runs[0], "--steps", mapping); err != nil || calls.Load() != 1 {
		t.Fatalf("verify over HTTP: %v, %d calls\n%s", err, calls.Load(), out)
	}
	changed.Store(true)
	out, err := ordoOut(t, db, "verify", runs[0], "--steps", mapping)
	if !errors.Is(err, errMismatch) || !strings.Contains(out, "FAIL ship attempt 1 (order-ship)") {
		t.Errorf("a changed HTTP step: %v\n%s", err, out)
	}
}

func TestGenTestPackageName(t *testing.T) {
	dir := t.TempDir()
	if got, err := packageOf(filepath.Join(dir, "2nd-regress")); err != nil || got != "recorded2ndregress" {
		t.Errorf("new directory: %q %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "steps.go"), []byte("package shop\n"), 0o644)
	if got, err := packageOf(dir); err != nil || got != "shop" {
		t.Errorf("beside package shop: %q %v", got, err)
	}
}
