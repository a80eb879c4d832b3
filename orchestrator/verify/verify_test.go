package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/orchestratortest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

type order struct {
	ID    string `json:"id"`
	Cents int    `json:"cents"`
	Short bool   `json:"short"`
}

// shop is a small workflow: price, then reserve (retried) and charge in
// order, then a receipt.
func shop(opts ...workflow.Option) *workflow.Definition {
	steps := []workflow.Option{
		workflow.Version("1"),
		workflow.Step("price", "price"),
		workflow.Step("reserve", "reserve", workflow.After("price"),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Minute), MaxInterval: workflow.Duration(2 * time.Hour)})),
		workflow.Step("charge", "charge", workflow.After("reserve"), workflow.Input(`{"cents": steps.price.output.total}`)),
		workflow.Step("receipt", "receipt", workflow.After("charge")),
	}
	if len(opts) > 0 {
		steps = opts
	}
	return workflow.New("shop", steps...).MustBuild()
}

// steps returns the shop's step functions; tax is the price step's rate
// in percent and stamp what the receipt step stamps its receipts with.
func steps(tax int, stamp func() string) *step.Registry {
	reg := step.NewRegistry()
	reg.Register("price", step.Func(func(ctx context.Context, o order) (map[string]int, error) {
		if err := step.SetState(ctx, map[string]string{"order": o.ID}); err != nil {
			return nil, err
		}
		return map[string]int{"total": o.Cents * (100 + tax) / 100}, nil
	}))
	reg.Register("reserve", step.Func(func(ctx context.Context, o order) (string, error) {
		req, _ := step.RequestFrom(ctx)
		if o.Short && req.Attempt == 1 {
			return "", errors.New("warehouse busy")
		}
		return "rsv-" + o.ID, nil
	}))
	reg.Register("charge", step.Func(func(ctx context.Context, in struct{ Cents int }) (string, error) {
		if in.Cents > 100_000 {
			return "", step.Terminal(errors.New("card limit exceeded"))
		}
		step.Emit(ctx, step.Effect{Kind: "publish", Target: "orders", Payload: []byte(fmt.Sprintf(`{"charged":%d}`, in.Cents))})
		return fmt.Sprintf("ch-%d", in.Cents), nil
	}))
	reg.Register("receipt", step.Func(func(ctx context.Context, o order) (map[string]string, error) {
		req, _ := step.RequestFrom(ctx)
		var st struct{ Order string }
		_ = jsonUnmarshal(req.State, &st)
		return map[string]string{"for": st.Order, "at": stamp()}, nil
	}))
	return reg
}

func fixedStamp() string { return "2025-01-01T09:00:00Z" }

// record runs an order through the shop and returns its recording.
func record(t *testing.T, o order) *verify.Recording {
	t.Helper()
	h := orchestratortest.New(t, steps(10, fixedStamp), []*workflow.Definition{shop()})
	run := h.Run("shop", o)
	rec, err := verify.Record(context.Background(), h.Store, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func check(t *testing.T, rec *verify.Recording, reg *step.Registry, rules verify.Rules, def *workflow.Definition) []verify.Check {
	t.Helper()
	v := &verify.Verifier{Invoker: embedded.Invoker{Registry: reg}, Config: verify.Config{Volatile: rules}}
	checks, err := v.Steps(context.Background(), rec, def)
	if err != nil {
		t.Fatal(err)
	}
	return checks
}

func TestStepsPassOnUnchangedCode(t *testing.T) {
	for _, o := range []order{{ID: "o1", Cents: 1000}, {ID: "o2", Cents: 500, Short: true}, {ID: "o3", Cents: 200_000}} {
		rec := record(t, o)
		checks := check(t, rec, steps(10, fixedStamp), nil, nil)
		if len(checks) == 0 {
			t.Fatalf("%s: nothing checked", o.ID)
		}
		for _, c := range checks {
			if c.Outcome != verify.Pass {
				t.Errorf("%s %s: %s %s %v", o.ID, c.Name(), c.Outcome, c.Reason, c.Diffs)
			}
		}
	}
}

func TestStepsCatchABehaviourChange(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	checks := check(t, rec, steps(20, fixedStamp), nil, nil) // the tax rate changed
	var failed []string
	for _, c := range checks {
		if c.Outcome == verify.Fail {
			failed = append(failed, c.Name())
		}
	}
	if got := strings.Join(failed, ", "); got != "price attempt 1" {
		t.Fatalf("failed checks: %q, want the price step only (charge's input is recorded)", got)
	}
	d := checks[0].Diffs
	if len(d) != 1 || d[0].Path != "output.total" || d[0].Recorded != "1100" || d[0].Got != "1200" {
		t.Errorf("diffs %v, want output.total: 1100 -> 1200", d)
	}
}

func TestStepsCatchAChangedFailure(t *testing.T) {
	rec := record(t, order{ID: "o3", Cents: 200_000}) // charge failed terminally
	reg := steps(10, fixedStamp)
	lenient := step.NewRegistry()
	for _, n := range reg.Names() {
		h, _ := reg.Lookup(n)
		if n == "charge" {
			h = step.Func(func(context.Context, struct{ Cents int }) (string, error) { return "ch", nil })
		}
		lenient.Register(n, h)
	}
	checks := check(t, rec, lenient, nil, nil)
	if c := find(checks, "charge"); c.Outcome != verify.Fail || !strings.Contains(c.Reason, "now succeeds") {
		t.Errorf("charge: %s %q, want a failure saying it now succeeds", c.Outcome, c.Reason)
	}
}

func TestVolatileFieldsAreDeclared(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	now := func() string { return time.Now().Format(time.RFC3339Nano) }
	if c := find(check(t, rec, steps(10, now), nil, nil), "receipt"); c.Outcome != verify.Fail ||
		len(c.Diffs) != 1 || c.Diffs[0].Path != "output.at" {
		t.Fatalf("receipt without a rule: %s %v, want a diff at output.at", c.Outcome, c.Diffs)
	}
	rules := verify.Rules{"shop/receipt": {"output.at"}}
	for _, c := range check(t, rec, steps(10, now), rules, nil) {
		if c.Outcome != verify.Pass {
			t.Errorf("with output.at volatile, %s: %s %v", c.Name(), c.Outcome, c.Diffs)
		}
	}
}

func TestRemovedStepIsAClearError(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	smaller := shop(workflow.Version("2"), workflow.Step("price", "price"),
		workflow.Step("charge", "charge", workflow.After("price")), workflow.Step("receipt", "receipt", workflow.After("charge")))
	c := find(check(t, rec, steps(10, fixedStamp), nil, smaller), "reserve")
	if c.Outcome != verify.Fail || !errors.Is(c.Err, verify.ErrUnknownStep) || !strings.Contains(c.Reason, `step "reserve"`) {
		t.Errorf("reserve: %s %v, want ErrUnknownStep naming it", c.Outcome, c.Err)
	}
	reg := step.NewRegistry() // the functions are gone too
	c = find(check(t, rec, reg, nil, nil), "price")
	if c.Outcome != verify.Fail || !errors.Is(c.Err, verify.ErrUnknownStep) || !strings.Contains(c.Reason, `"price"`) {
		t.Errorf("price without its function: %s %v", c.Outcome, c.Err)
	}
}

func TestCorruptRecordings(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	var buf bytes.Buffer
	if err := rec.Write(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	if _, err := verify.Decode(strings.NewReader(good)); err != nil {
		t.Fatalf("a written recording does not read back: %v", err)
	}
	headless := strings.Replace(good, `"kind": "RunStarted"`, `"kind": "StepScheduled"`, 1)
	for name, text := range map[string]string{
		"truncated":     good[:len(good)/2],
		"not JSON":      "{" + good,
		"no RunStarted": headless,
		"empty":         "",
	} {
		_, err := verify.Decode(strings.NewReader(text))
		if !errors.Is(err, verify.ErrCorrupt) {
			t.Errorf("%s: error %v, want ErrCorrupt", name, err)
		}
	}
}

func find(checks []verify.Check, stepName string) verify.Check {
	for _, c := range checks {
		if c.Step == stepName {
			return c
		}
	}
	return verify.Check{Outcome: "missing"}
}

func TestSkippedStepsAreNotReexecuted(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	calls := 0
	reg := steps(10, func() string { calls++; return "now" })
	v := &verify.Verifier{Invoker: embedded.Invoker{Registry: reg}, Config: verify.Config{Skip: []string{"shop/receipt"}}}
	checks, err := v.Steps(context.Background(), rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := find(checks, "receipt"); c.Outcome != verify.Skip || calls != 0 {
		t.Errorf("receipt: %s (%s), called %d times; want it skipped, not called", c.Outcome, c.Reason, calls)
	}
	if c := find(checks, "price"); c.Outcome != verify.Pass {
		t.Errorf("price: %s, want pass", c.Outcome)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ text, err string }{
		"good":         {"volatile:\n  order/ship: [output.at, 'effects[*].payload.sentAt']\nskip: [order/*]\n", ""},
		"empty":        {"", ""},
		"bad key":      {"volatile:\n  ship: [output.at]\n", `key "ship": want workflow/step`},
		"bad path":     {"volatile:\n  order/ship: ['output.items[x]']\n", `index "x" is not a number`},
		"bad skip":     {"skip: [ship]\n", `skip: "ship"`},
		"unknown key":  {"volatil:\n  order/ship: [output.at]\n", "volatil"},
		"unclosed [":   {"volatile:\n  order/ship: ['output.items[1']\n", "missing ]"},
		"not YAML map": {"- 1\n", "cannot unmarshal"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		os.WriteFile(path, []byte(c.text), 0o644)
		_, err := verify.LoadConfig(path)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), path)):
			t.Errorf("%s: error %v, want one naming the file and saying %q", name, err, c.err)
		}
	}
}

// TestMapItemsAndCompensations replays a run with a map step and a saga and
// re-executes its items and compensation, each named as the journal names
// it (step#item, step~).
func TestMapItemsAndCompensations(t *testing.T) {
	def := workflow.New("pack", workflow.Version("1"), workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.Map("box", "box", "input.items"),
		workflow.Step("hold", "hold", workflow.After("box"), workflow.CompensateWith("release")),
		workflow.Step("seal", "seal", workflow.After("hold")),
	).MustBuild()
	mkReg := func(factor int) *step.Registry {
		reg := step.NewRegistry()
		reg.Register("box", step.Func(func(_ context.Context, n int) (int, error) { return n * factor, nil }))
		reg.Register("hold", step.Func(func(context.Context, any) (string, error) { return "held", nil }))
		reg.Register("release", step.Func(func(context.Context, any) (string, error) { return "released", nil }))
		reg.Register("seal", step.Func(func(context.Context, any) (string, error) {
			return "", step.Terminal(errors.New("tape ran out"))
		}))
		return reg
	}
	h := orchestratortest.New(t, mkReg(2), []*workflow.Definition{def})
	run := h.Run("pack", map[string][]int{"items": {1, 2, 3}})
	rec, err := verify.Record(context.Background(), h.Store, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Replay(rec, def); err != nil {
		t.Errorf("replay of a map and a compensation: %v", err)
	}
	wider := workflow.New("pack", workflow.Version("2"), workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.Map("box", "box", "input.items", workflow.MaxConcurrency(1)),
		workflow.Step("hold", "hold", workflow.After("box"), workflow.CompensateWith("release")),
		workflow.Step("seal", "seal", workflow.After("hold")),
	).MustBuild()
	if err := verify.Replay(rec, wider); !errors.Is(err, verify.ErrDrift) {
		t.Errorf("replay with one item at a time: %v, want a drift", err)
	}
	outcomes := map[string]verify.Outcome{}
	for _, c := range check(t, rec, mkReg(2), nil, nil) {
		outcomes[c.Name()] = c.Outcome
	}
	for _, name := range []string{"box#1 attempt 1", "box#2 attempt 1", "box#3 attempt 1", "hold attempt 1", "hold~ attempt 1", "seal attempt 1"} {
		if outcomes[name] != verify.Pass {
			t.Errorf("%s: %q, want pass (all: %v)", name, outcomes[name], outcomes)
		}
	}
	var failed []string
	for _, c := range check(t, rec, mkReg(3), nil, nil) {
		if c.Outcome == verify.Fail {
			failed = append(failed, c.Name())
		}
	}
	if got := strings.Join(failed, ", "); got != "box#1 attempt 1, box#2 attempt 1, box#3 attempt 1" {
		t.Errorf("with box tripling: failed %q, want the three items", got)
	}
}
