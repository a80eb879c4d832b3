package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// The API over an embedded runtime, as `ordo dev` serves it.
func Example() {
	reg := step.NewRegistry()
	reg.Register("noop", step.Func(func(context.Context, any) (any, error) { return nil, nil }))
	rt := embedded.New(memjournal.New(), reg)
	defer rt.Close()
	def := workflow.New("hello", workflow.Key("input.id"), workflow.Step("a", "noop")).MustBuild()
	if err := rt.Engine.Register(context.Background(), def); err != nil {
		panic(err)
	}
	// One caller, an operator, known by its bearer token.
	callers := api.Tokens{"s3cr3t-operator-token": {Name: "ops", Role: api.Operator}}
	srv := httptest.NewServer(api.New(rt.Engine, rt, rt, api.WithAuthenticator(callers)))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/runs", strings.NewReader(`{"workflow":"hello","input":{"id":"x"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer s3cr3t-operator-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Join(strings.Fields(string(body)), " "))
	// Output: 201 { "created": true, "run": "hello/x", "status": "running" }
}
