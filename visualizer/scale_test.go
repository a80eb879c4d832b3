package visualizer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// TestScale measures the runs page over 100,000 runs and the run page of a
// 10,000-item map, through the API and in Chromium, and fails when a page
// takes a second or more. It is slow to set up, so it runs only with
// ORDO_UI_SCALE=1 (docs/BENCHMARKS.md has the command and the figures).
func TestScale(t *testing.T) {
	if os.Getenv("ORDO_UI_SCALE") != "1" {
		t.Skip("set ORDO_UI_SCALE=1 to measure the UI at 100,000 runs and a 10,000-item map")
	}
	ctx := context.Background()
	reg := step.NewRegistry()
	reg.Register("noop", step.Func(func(ctx context.Context, in any) (any, error) { return in, nil }))
	def := workflow.New("fan", workflow.Key("input.id"),
		workflow.Step("prepare", "noop"),
		workflow.Map("each", "noop", "input.items", workflow.After("prepare"), workflow.MaxConcurrency(200)),
		workflow.Step("finish", "noop", workflow.After("each")),
	).MustBuild(workflow.Functions(reg.Has))
	store, err := sqlitejournal.New(ctx, filepath.Join(t.TempDir(), "ordo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rt := embedded.New(store, reg)
	defer rt.Close()
	if err := rt.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}

	const runs, items = 100_000, 10_000
	began := time.Now()
	statuses := []journal.Status{journal.StatusCompleted, journal.StatusCompleted, journal.StatusCompleted, journal.StatusReview, journal.StatusFailed}
	at := time.Now().Add(-time.Duration(runs) * time.Second)
	// Concurrent appends let the journal commit them in groups.
	const writers = 16
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := w; i < runs; i += writers {
				_, err := store.Append(ctx, journal.Commit{Run: fmt.Sprintf("fan/bulk-%06d", i), Workflow: "fan", DefHash: def.Hash(),
					Status: statuses[i%len(statuses)], At: at.Add(time.Duration(i) * time.Second),
					Events: []journal.Event{{Kind: journal.RunStarted, Workflow: "fan", DefHash: def.Hash(), Input: []byte(`{}`)}}})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("setup: %d run heads in %v", runs, time.Since(began).Round(time.Millisecond))

	list := make([]int, items)
	for i := range list {
		list[i] = i
	}
	began = time.Now()
	input := fmt.Appendf(nil, `{"id":"big","items":%s}`, mustJSON(list))
	st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "fan", Input: input})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{rt: rt}
	f.waitStatusWithin(t, st.Run, journal.StatusCompleted, 5*time.Minute)
	t.Logf("setup: a %d-item map run in %v", items, time.Since(began).Round(time.Millisecond))

	srv := newServer(t, visualizer.Guard(visualizer.Mount(api.New(rt.Engine, rt, rt, api.WithAuthenticator(api.Fixed(api.Principal{Name: "tester", Role: api.Admin}))))))
	for _, path := range []string{"/v1/views/runs?limit=50", "/v1/views/runs?limit=50&status=review", "/v1/views/run?events=1&id=" + st.Run} {
		d, n := timeGet(t, srv+path)
		t.Logf("API GET %s: %v, %d KiB", path, d.Round(time.Millisecond), n>>10)
		if d >= time.Second {
			t.Errorf("API GET %s took %v, want under a second", path, d)
		}
	}

	bctx := browser(t)
	for _, page := range []struct {
		name, url string
		ready     chromedp.CSS
	}{
		{"runs page (100,000 runs)", srv + "/#/runs", chromedp.CSS(`#runs-table tr[data-run]`)},
		{"run page (10,000-item map)", srv + "/#/run/" + st.Run, node("finish", "succeeded")},
		{"run page, first commit", srv + "/#/run/" + st.Run + "?at=1", chromedp.CSS(`#dag g.node[data-step="prepare"]`)},
	} {
		// Start from a blank page so each measure is a full load.
		run(t, bctx, "blank", chromedp.Navigate("about:blank"))
		began := time.Now()
		run(t, bctx, page.name, chromedp.Navigate(page.url), chromedp.WaitVisible(page.ready))
		wall := time.Since(began)
		// The page marks when it has drawn (ordo:drawn), measured from the
		// navigation's start; the test's polling adds to the wall time.
		ms := value(t, bctx, "performance mark", chromedp.Evaluate[float64](`performance.getEntriesByName('ordo:drawn')[0].startTime`))
		d := time.Duration(ms * float64(time.Millisecond))
		res := value(t, bctx, "resources", chromedp.Evaluate[string](`JSON.stringify(performance.getEntriesByType('resource').map(e => [e.name.replace(/^.*\//, '').slice(0, 50), Math.round(e.startTime), Math.round(e.responseEnd)]))`))
		t.Logf("resources (name, start ms, end ms): %s", res)
		t.Logf("Chromium %s: drawn %v after navigation (%v wall time in the test)", page.name, d.Round(time.Millisecond), wall.Round(time.Millisecond))
		if d >= time.Second {
			t.Errorf("%s took %v to draw, want under a second", page.name, d)
		}
	}
}

func (f *fixture) waitStatusWithin(t *testing.T, run string, want journal.Status, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		head, _, err := f.rt.Engine.Store().Load(context.Background(), run)
		if err == nil && head.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %q (%v), want %s", run, head.Status, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func timeGet(t *testing.T, url string) (time.Duration, int) {
	t.Helper()
	began := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %s", url, resp.StatusCode, err, b[:min(len(b), 200)])
	}
	return time.Since(began), len(b)
}

func newServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
