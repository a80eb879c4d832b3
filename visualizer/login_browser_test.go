package visualizer_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/visualizer"
)

// TestBrowserLoginLink opens the one-time login link `ordo dev` prints in
// a real Chromium: the UI then works with the session cookie alone (an
// operator's: action buttons shown), and scripts cannot read the cookie.
func TestBrowserLoginLink(t *testing.T) {
	f := newFixture(t, nil)
	bad := f.start(t, "p-login", 500, journal.StatusReview)
	login := api.NewBrowserLogin("local-browser", api.Operator)
	srv := httptest.NewServer(api.Loopback(login.Handler(visualizer.Mount(api.New(f.rt.Engine, f.rt, f.rt,
		api.WithAuthenticator(api.Either(api.Tokens{}, login)))))))
	t.Cleanup(srv.Close)
	ctx := browser(t)
	item := `.review-item[data-run="` + bad + `"]`
	run(t, ctx, "follow the login link, then the review queue",
		chromedp.Navigate(login.LoginURL(srv.URL)),
		chromedp.WaitReady(chromedp.CSS("body")),
		chromedp.Navigate(srv.URL+"/#/review"),
		chromedp.WaitVisible(chromedp.CSS(item)))
	if url := value(t, ctx, "location", chromedp.Evaluate[string](`location.href`)); strings.Contains(url, "login=") {
		t.Errorf("the login code stayed in the address bar: %s", url)
	}
	if n := value(t, ctx, "count buttons", chromedp.Evaluate[int](`document.querySelectorAll('.send, .cancel').length`)); n == 0 {
		t.Error("the operator session shows no resubmit or cancel buttons")
	}
	if c := value(t, ctx, "document.cookie", chromedp.Evaluate[string](`document.cookie`)); c != "" {
		t.Errorf("scripts read the session cookie: %q", c)
	}
}
