package lambdatest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/steplambda"
)

// Functions is an in-process Lambda Invoke endpoint for the real SDK
// client: POST /2015-03-31/functions/{prefix}{name}/invocations runs the
// step function name from a registry through the step Lambdas' own handler
// (steplambda.NewHandler behind aws-lambda-go's lambda.NewHandler), and
// counts every invocation by attempt. A handler error comes back with
// X-Amz-Function-Error: Unhandled, as Lambda does. GET
// /2015-03-31/functions/{name}/configuration (GetFunctionConfiguration)
// reports the timeouts set with SetTimeout.
type Functions struct {
	srv    *httptest.Server
	reg    *step.Registry
	prefix string
	faults *Faults

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	counts   map[Attempt]int
	timeouts map[string]int32 // configured timeouts in seconds, by function
	lookups  int              // GetFunctionConfiguration calls
}

// SetTimeout configures function fn's timeout, which
// GetFunctionConfiguration reports (a function without one is reported as
// not found there, so the orchestrator falls back to its default).
func (f *Functions) SetTimeout(fn string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timeouts == nil {
		f.timeouts = map[string]int32{}
	}
	f.timeouts[fn] = int32(d / time.Second)
}

// ConfigLookups returns how many GetFunctionConfiguration calls came in.
func (f *Functions) ConfigLookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups
}

// configuration serves GetFunctionConfiguration.
func (f *Functions) configuration(w http.ResponseWriter, name string) {
	fn := strings.TrimPrefix(name, f.prefix)
	f.mu.Lock()
	f.lookups++
	secs, ok := f.timeouts[fn]
	f.mu.Unlock()
	if !ok {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"FunctionName": name, "Timeout": secs})
}

// Attempt names one step attempt (or map item) of a run.
type Attempt struct {
	Run, Step    string
	Attempt      int
	Index        int
	Compensation bool
}

func (a Attempt) String() string {
	s := fmt.Sprintf("%s %s#%d", a.Run, a.Step, a.Attempt)
	if a.Index > 0 {
		s += fmt.Sprintf("[%d]", a.Index)
	}
	if a.Compensation {
		s += " (compensation)"
	}
	return s
}

// NewFunctions starts the endpoint over reg; Close stops it. faults may be
// nil.
func NewFunctions(reg *step.Registry, prefix string, faults *Faults) *Functions {
	f := &Functions{reg: reg, prefix: prefix, faults: faults, counts: map[Attempt]int{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the endpoint's base URL (lambda.Options.BaseEndpoint).
func (f *Functions) URL() string { return f.srv.URL }

// Close stops the endpoint: it cancels running functions and waits a
// little for them (a function that ignores its context is left behind).
func (f *Functions) Close() {
	f.cancel()
	done := make(chan struct{})
	go func() { f.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// Invocations returns how many times each attempt was invoked.
func (f *Functions) Invocations() map[Attempt]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[Attempt]int, len(f.counts))
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

func (f *Functions) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/")
	if name, ok := strings.CutSuffix(path, "/configuration"); ok && r.Method == http.MethodGet {
		f.configuration(w, name)
		return
	}
	name, ok := strings.CutSuffix(path, "/invocations")
	if !ok || r.Method != http.MethodPost {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "no such route "+r.URL.Path)
		return
	}
	fn := strings.TrimPrefix(name, f.prefix)
	h, ok := f.reg.Lookup(fn)
	if !ok {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	var req step.Request
	_ = json.Unmarshal(payload, &req)
	f.mu.Lock()
	f.counts[Attempt{Run: req.Run, Step: req.Step, Attempt: req.Attempt, Index: req.Index, Compensation: req.Compensation}]++
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(f.ctx, cancel)
	defer stop()
	out, err := lambda.NewHandler(steplambda.NewHandler(h)).Invoke(ctx, payload)
	if err == nil && f.faults.hit(FunctionTimeout) {
		// The function ran (its work may be done) but its answer is lost:
		// Lambda reports the timeout as an unhandled function error.
		err = fmt.Errorf("Task timed out after 30.00 seconds")
	}
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		out, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "Runtime.Timeout"})
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func lambdaError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
