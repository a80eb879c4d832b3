// Package visualizer is ordo's web UI: a single-page application, embedded
// in the binary, that reads and operates runs through the HTTP API (package
// api) mounted beside it under /v1/. It lists and filters runs, draws a
// run's DAG with each step's status (laid out by the vendored dagre
// library), steps through a run's state commit by commit, works the review
// queue (resubmit with edited input or state, cancel, in bulk) and shows
// definitions, their versions and the difference between two.
//
// The handler serves only the UI's files; who serves the API is the
// caller's choice, so the same UI runs against the embedded journal, a
// running `ordo dev` or a deployed API (see Mount).
package visualizer

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Handler serves the UI's files: index.html for "/" and its scripts,
// styles and vendored libraries below it.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the UI's files are read-only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Mount returns a handler that sends /v1/ (the API) to api and everything
// else to the UI.
func Mount(api http.Handler) http.Handler {
	ui := Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			api.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
}
