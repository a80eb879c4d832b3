package stephttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/stephttp"
)

// A step served over HTTP (in any language; here Go, with Handler) is
// called through a Client registered under the function's name.
func Example() {
	srv := httptest.NewServer(stephttp.Handler(step.Func(func(ctx context.Context, name string) (string, error) {
		return "hello, " + strings.ToUpper(name), nil
	})))
	defer srv.Close()

	reg := step.NewRegistry()
	if err := (stephttp.Mapping{"greet": srv.URL}).Register(reg); err != nil {
		panic(err)
	}
	h, _ := reg.Lookup("greet")
	res, err := h.Handle(context.Background(), step.Request{Workflow: "w", Run: "w/1", Step: "greet",
		Function: "greet", Attempt: 1, IdempotencyKey: "w/1/greet", Input: json.RawMessage(`"ordo"`)})
	fmt.Println(string(res.Output), err)
	// Output: "hello, ORDO" <nil>
}
