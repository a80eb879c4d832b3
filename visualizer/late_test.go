package visualizer_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ordoflow/ordo/journal"
)

// gate holds the next run view the page asks for until released.
type gate struct {
	armed   atomic.Bool
	arrived chan struct{}
	release chan struct{}
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/views/run" && g.armed.CompareAndSwap(true, false) {
			close(g.arrived)
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// TestBrowserLateAnswerDrawsNothing: the user opens a run, whose view is
// slow to come, and moves on to the definitions before it does. When the
// run's view arrives, the page they are on stays as it is (a late answer
// drawing over it replaced the nodes under the user's cursor).
func TestBrowserLateAnswerDrawsNothing(t *testing.T) {
	g := &gate{arrived: make(chan struct{}), release: make(chan struct{})}
	f := newFixture(t, g.wrap)
	bad := f.start(t, "p-7", 500, journal.StatusReview)
	ctx := browser(t)
	run(t, ctx, "definitions page",
		chromedp.Navigate(f.srv.URL+"/#/definitions"),
		chromedp.WaitVisible(chromedp.CSS(`#definitions`)))
	// Flag when the app has handled a run view's body: the flag's task runs
	// after the app's continuations (microtasks) on that body.
	value(t, ctx, "hook", chromedp.Evaluate[bool](`(() => {
		const text = Response.prototype.text;
		Response.prototype.text = async function () {
			const body = await text.call(this);
			if (this.url.includes('/v1/views/run?')) setTimeout(() => { window.runViewHandled = true; }, 0);
			return body;
		};
		return true;
	})()`))

	g.armed.Store(true)
	value(t, ctx, "open the run", chromedp.Evaluate[string](fmt.Sprintf(`location.hash = '#/run/%s'`, bad)))
	select {
	case <-g.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the run page never asked for its view")
	}
	run(t, ctx, "back to the definitions",
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Evaluate[string](`document.querySelector('#definitions').dataset.old = 'yes'; location.hash = '#/definitions'`)(ctx, tg)
			return chromedp.Void{}, err
		},
		chromedp.WaitVisible(chromedp.CSS(`#definitions:not([data-old])`)))
	value(t, ctx, "observe", chromedp.Evaluate[bool](`(() => {
		window.mainChanged = false;
		new MutationObserver(() => { window.mainChanged = true; }).observe(document.querySelector('#main'), { childList: true, subtree: true });
		return true;
	})()`))
	close(g.release)
	value(t, ctx, "run view handled", chromedp.Poll[bool](`window.runViewHandled === true`))
	if changed := value(t, ctx, "main changed", chromedp.Evaluate[bool](`window.mainChanged`)); changed {
		t.Error("the run's late view was drawn over the definitions page")
	}
	if n := value(t, ctx, "dag", chromedp.Evaluate[int](`document.querySelectorAll('#dag, #timeline').length`)); n != 0 {
		t.Errorf("the definitions page shows a run's graph or timeline (%d elements)", n)
	}
}
