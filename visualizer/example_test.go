package visualizer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ordoflow/ordo/visualizer"
)

// The UI beside an API handler (api.New in ordo dev and ordo ui), guarded
// for a loopback address.
func Example() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"runs":[]}`) })
	h := visualizer.Guard(visualizer.Mount(api))
	for _, path := range []string{"/", "/v1/views/runs"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:8081"+path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Content-Type"))
	}
	// Output:
	// / 200 text/html; charset=utf-8
	// /v1/views/runs 200 text/plain; charset=utf-8
}
