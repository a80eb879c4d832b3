package visualizer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/visualizer"
)

// fixture is a runtime with a "pay" workflow (check → charge → ship) whose
// charge fails terminally above 100, so a run lands in review.
type fixture struct {
	rt  *embedded.Runtime
	srv *httptest.Server
}

func newFixture(t *testing.T, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	ctx := context.Background()
	reg := step.NewRegistry()
	reg.Register("check", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		return map[string]any{"ok": true}, nil
	}))
	reg.Register("charge", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		if amount, _ := in["amount"].(float64); amount > 100 {
			return nil, step.Terminal(fmt.Errorf("amount %v over the limit of 100", amount))
		}
		return map[string]any{"charged": in["amount"]}, nil
	}))
	reg.Register("reserve", step.Func(func(ctx context.Context, in any) (map[string]any, error) {
		return map[string]any{"reserved": in}, nil
	}))
	reg.Register("ship", step.Func(func(ctx context.Context, in map[string]any) (string, error) { return "shipped", nil }))
	def := workflow.New("pay", workflow.Key("input.id"),
		workflow.Step("check", "check"),
		workflow.Map("reserve", "reserve", "input.items", workflow.After("check")),
		workflow.Step("charge", "charge", workflow.After("check")),
		workflow.Step("ship", "ship", workflow.After("charge", "reserve")),
		workflow.Pass("gift", `"wrapped"`, workflow.After("ship"), workflow.When("input.amount > 1000")),
	).MustBuild(workflow.Functions(reg.Has))
	store, err := sqlitejournal.New(ctx, filepath.Join(t.TempDir(), "ordo.db"))
	if err != nil {
		t.Fatal(err)
	}
	rt := embedded.New(store, reg)
	t.Cleanup(func() { rt.Close(); store.Close() })
	if err := rt.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	h := visualizer.Guard(visualizer.Mount(api.New(rt.Engine, rt, rt, api.WithAuthenticator(api.Fixed(api.Principal{Name: "tester", Role: api.Admin})))))
	if wrap != nil {
		h = wrap(h)
	}
	f := &fixture{rt: rt, srv: httptest.NewServer(h)}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) start(t *testing.T, id string, amount int, want journal.Status) string {
	t.Helper()
	st, err := f.rt.Start(context.Background(), orchestrator.StartRequest{Workflow: "pay", Input: []byte(fmt.Sprintf(`{"id":%q,"amount":%d,"items":["tv","cable","mount"]}`, id, amount))})
	if err != nil {
		t.Fatal(err)
	}
	f.waitStatus(t, st.Run, want)
	return st.Run
}

func (f *fixture) waitStatus(t *testing.T, run string, want journal.Status) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		head, _, err := f.rt.Engine.Store().Load(context.Background(), run)
		if err == nil && head.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %q (%v), want %s", run, head.Status, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// browser starts a headless Chromium, or skips (fails with
// ORDO_REQUIRE_BROWSER=1) when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("ORDO_REQUIRE_BROWSER") == "1" {
			t.Fatal("no Chromium found (chromium, chromium-browser, google-chrome) and ORDO_REQUIRE_BROWSER=1: run scripts/install-chromium.sh")
		}
		t.Skip("no Chromium found: install Debian's chromium (scripts/install-chromium.sh) to run the UI tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first run starts the browser; its context must not time out.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// shot saves a screenshot: under docs/img with ORDO_SCREENSHOTS=1 (how the
// documentation's images are made), else in the test's temp dir.
func shot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	dir := t.TempDir()
	if os.Getenv("ORDO_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "docs", "img")
	}
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		buf, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name), buf, 0o644)
	}
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs an action that reads something.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func css(format string, args ...any) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(format, args...)) }

func node(step, status string) chromedp.CSS {
	return css(`#dag g.node[data-step=%q][data-status=%q]`, step, status)
}

func TestBrowserRunsRunAndReview(t *testing.T) {
	f := newFixture(t, nil)
	done := f.start(t, "p-1", 10, journal.StatusCompleted)
	bad := f.start(t, "p-2", 500, journal.StatusReview)
	ctx := browser(t)

	// Runs: both listed, the counts per status shown.
	run(t, ctx, "runs page",
		chromedp.Navigate(f.srv.URL+"/#/runs"),
		chromedp.WaitVisible(css(`#runs-table tr[data-run=%q]`, done)),
		chromedp.WaitVisible(css(`#runs-table tr[data-run=%q]`, bad)),
		shot(t, "runs.png"))
	reviewCount := value(t, ctx, "review count", chromedp.Text(chromedp.CSS(`[data-count="review"] b`)))
	completedCount := value(t, ctx, "completed count", chromedp.Text(chromedp.CSS(`[data-count="completed"] b`)))
	if reviewCount != "1" || completedCount != "1" {
		t.Errorf("counts: review %q, completed %q; want 1 and 1", reviewCount, completedCount)
	}

	// Run: the DAG with the failed step marked for review.
	run(t, ctx, "run page",
		chromedp.Navigate(f.srv.URL+"/#/run/"+bad),
		chromedp.WaitVisible(node("check", "succeeded")),
		chromedp.WaitVisible(node("charge", "review")),
		chromedp.WaitVisible(node("ship", "pending")),
		chromedp.Click(node("charge", "review")),
		chromedp.WaitVisible(chromedp.CSS(`[data-detail="charge"] .attempt[data-attempt="1"]`)),
		chromedp.Click(chromedp.CSS(`#gen-test`)),
		chromedp.WaitVisible(chromedp.CSS(`#gen-test[data-bytes]`)),
		shot(t, "run.png"))

	// The state slider: the first commit (the start, with its first
	// decision) has check running, the next one check succeeded; "latest"
	// comes back to the review.
	run(t, ctx, "slider",
		chromedp.SetValue(chromedp.CSS(`#slider`), "0"),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Evaluate[bool](`document.querySelector('#slider').dispatchEvent(new Event('change'))`)(ctx, tg)
			return chromedp.Void{}, err
		},
		chromedp.WaitVisible(node("check", "running")),
		chromedp.WaitVisible(node("charge", "pending")),
		chromedp.WaitVisible(chromedp.CSS(`#timeline tr.future`)),
		chromedp.Click(chromedp.CSS(`#next`)),
		chromedp.WaitVisible(node("check", "succeeded")),
		chromedp.Click(chromedp.CSS(`#prev`)),
		chromedp.WaitVisible(node("check", "running")),
		chromedp.Click(chromedp.CSS(`#latest`)),
		chromedp.WaitVisible(node("charge", "review")))

	// Review: an invalid edit is refused in the page; a valid one shows a
	// diff, is sent, and the run completes.
	item := fmt.Sprintf(`.review-item[data-run=%q]`, bad)
	in := func(sel string) chromedp.CSS { return chromedp.CSS(item + " " + sel) }
	run(t, ctx, "review page",
		// From the run page's link to this run's entry in the queue. The
		// page is the run at its latest commit, drawn once: a run in review
		// is not refreshed under the operator (navigating to it again here
		// would race the link's click with the page's redraw).
		chromedp.WaitVisible(chromedp.CSS(`#latest[disabled]`)),
		chromedp.Click(chromedp.CSS(`a[href^="#/review?run="]`)),
		chromedp.WaitVisible(chromedp.CSS(item)),
		chromedp.Click(in(`summary`)),
		chromedp.SetValue(in(`textarea.input`), `{"id": "p-2", "amount": `),
		chromedp.Click(in(`.preview-btn`)),
		chromedp.WaitVisible(in(`.preview .err`)),
		chromedp.WaitVisible(in(`textarea.input.invalid`)),
		chromedp.SetValue(in(`textarea.input`), `{"id": "p-2", "amount": 50, "items": ["tv", "cable", "mount"]}`),
		chromedp.SetValue(chromedp.CSS(`#by`), "alice"),
		chromedp.Click(in(`.preview-btn`)),
		chromedp.WaitVisible(in(`.diff .add`)),
		shot(t, "review.png"),
		chromedp.Click(in(`.send`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash .ok`)))
	f.waitStatus(t, bad, journal.StatusCompleted)
	_, events, err := f.rt.Engine.Store().Load(context.Background(), bad)
	if err != nil {
		t.Fatal(err)
	}
	var by string
	var input string
	for _, e := range events {
		if e.Kind == journal.Resubmitted {
			by, input = e.By, string(e.Input)
		}
	}
	// The authenticated caller comes first; the name typed in the UI after it.
	if by != "tester (for alice)" || !strings.Contains(input, `"amount":50`) {
		t.Errorf("Resubmitted by %q with input %s; want tester (for alice) and amount 50", by, input)
	}
	run(t, ctx, "completed run",
		chromedp.Navigate(f.srv.URL+"/#/run/"+bad),
		chromedp.WaitVisible(node("charge", "succeeded")),
		chromedp.WaitVisible(node("reserve", "succeeded")),
		chromedp.WaitVisible(node("ship", "succeeded")),
		chromedp.WaitVisible(node("gift", "skipped")))
}

func TestBrowserViewerSeesNoActions(t *testing.T) {
	// The API names the caller's role at /v1/whoami; a viewer gets no
	// resubmit, cancel or bulk buttons (the API refuses them anyway).
	f := newFixture(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/whoami" {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"role":"viewer","name":"val"}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	bad := f.start(t, "p-3", 500, journal.StatusReview)
	ctx := browser(t)
	item := fmt.Sprintf(`.review-item[data-run=%q]`, bad)
	run(t, ctx, "review page as viewer",
		chromedp.Navigate(f.srv.URL+"/#/review"),
		chromedp.WaitVisible(chromedp.CSS(item)))
	buttons := value(t, ctx, "count buttons", chromedp.Evaluate[int](`document.querySelectorAll('.send, .cancel, #bulk-resubmit, #bulk-cancel, .pick').length`))
	if buttons != 0 {
		t.Errorf("a viewer sees %d action controls on the review queue, want 0", buttons)
	}
	run(t, ctx, "run page as viewer",
		chromedp.Navigate(f.srv.URL+"/#/run/"+bad),
		chromedp.WaitVisible(node("charge", "review")))
	if n := value(t, ctx, "count buttons", chromedp.Evaluate[int](`document.querySelectorAll('#cancel-run').length`)); n != 0 {
		t.Errorf("a viewer sees a cancel button on the run page")
	}
}

func TestBrowserReviewItems(t *testing.T) {
	f := newFixture(t, nil)
	reviews, ok := f.rt.Engine.Store().(journal.Reviews)
	if !ok {
		t.Fatalf("%T keeps no review items", f.rt.Engine.Store())
	}
	ctx := context.Background()
	now := time.Now()
	for _, it := range []journal.ReviewItem{
		{ID: "failed-effect/e-1", Kind: journal.ReviewFailedEffect, Reason: "smtp: 550 mailbox unavailable", Run: "pay/p-9",
			Payload: []byte(`{"id":"e-1","kind":"email"}`), Created: now},
		{ID: "malformed-trigger/sqs:m-1", Kind: journal.ReviewMalformedTrigger, Reason: "no workflow named", Source: "sqs:orders",
			Payload: []byte(`{"orderId":"o-1"}`), Created: now},
	} {
		if _, err := reviews.PutReview(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	bctx := browser(t)
	effect := `.other[data-item="failed-effect/e-1"]`
	trigger := `.other[data-item="malformed-trigger/sqs:m-1"]`
	run(t, bctx, "review items",
		chromedp.Navigate(f.srv.URL+"/#/review"),
		chromedp.WaitVisible(chromedp.CSS(effect+" .redispatch")),
		chromedp.WaitVisible(chromedp.CSS(trigger+" textarea.body")),
		// This server has no redeliverer: resubmitting says so, and the
		// item stays open.
		chromedp.Click(chromedp.CSS(trigger+" .resubmit-item")),
		chromedp.WaitVisible(chromedp.CSS(`#flash .error`)),
		chromedp.SetValue(chromedp.CSS(`#by`), "bob"),
		chromedp.Click(chromedp.CSS(effect+" .discard")),
		chromedp.WaitVisible(chromedp.CSS(`#flash .ok`)),
		chromedp.WaitNotPresent(chromedp.CSS(effect)))
	msg := value(t, bctx, "flash", chromedp.Text(chromedp.CSS(`#flash`)))
	if !strings.Contains(msg, "discard") {
		t.Errorf("flash %q", msg)
	}
	got, err := reviews.Review(ctx, "failed-effect/e-1")
	if err != nil || got.Resolution == nil || got.Resolution.Action != journal.ResolutionDiscarded || !strings.HasSuffix(got.Resolution.By, "(for bob)") { // the authenticated caller, for the name typed
		t.Errorf("failed-effect/e-1 after discard: %+v %v", got.Resolution, err)
	}
	if got, _ := reviews.Review(ctx, "malformed-trigger/sqs:m-1"); got.Resolution != nil {
		t.Errorf("the trigger was resolved although it could not be resubmitted: %+v", got.Resolution)
	}
}

func TestBrowserDefinitionsAndDiff(t *testing.T) {
	f := newFixture(t, nil)
	v1, _ := f.rt.Engine.Workflow("pay")
	f.start(t, "d-1", 500, journal.StatusReview) // one run in flight on v1
	v2 := workflow.New("pay", workflow.Version("2"), workflow.Key("input.id"),
		workflow.Step("check", "check"),
		workflow.Step("charge", "charge", workflow.After("check"), workflow.Timeout(time.Minute)),
		workflow.Step("ship", "ship", workflow.After("charge")),
		workflow.Step("notify", "ship", workflow.After("ship")),
	).MustBuild()
	if err := f.rt.Engine.Register(context.Background(), v2); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	run(t, ctx, "definitions page",
		chromedp.Navigate(f.srv.URL+"/#/definitions"),
		chromedp.WaitVisible(css(`#definitions tr[data-hash=%q]`, v1.Hash())),
		chromedp.WaitVisible(css(`#definitions tr[data-hash=%q]`, v2.Hash())))
	inFlight := value(t, ctx, "in flight", chromedp.Text(css(`#definitions tr[data-hash=%q] td:last-child`, v1.Hash())))
	if inFlight != "1" {
		t.Errorf("v1 has %q runs in flight, want 1", inFlight)
	}
	run(t, ctx, "definition graph",
		chromedp.Navigate(f.srv.URL+"/#/definition/"+v2.Hash()),
		chromedp.WaitVisible(css(`#dag g.node[data-step="notify"]`)))
	run(t, ctx, "diff",
		chromedp.Navigate(f.srv.URL+"/#/diff/"+v1.Hash()+"/"+v2.Hash()),
		chromedp.WaitVisible(node("notify", "added")),
		chromedp.WaitVisible(node("reserve", "removed")),
		chromedp.WaitVisible(node("charge", "changed")),
		chromedp.WaitVisible(node("check", "same")),
		chromedp.WaitVisible(chromedp.CSS(`.diff .add`)))
}
