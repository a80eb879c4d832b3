// Package api is ordo's HTTP API over the journal and the engine: start
// runs, list and read them, resubmit or cancel runs in review, list and draw
// definitions. `ordo dev` serves it locally; the API Lambda (Function URL)
// serves it in AWS.
//
//	POST /v1/runs                      {"workflow","input","key"} → {"run","created","status"}
//	                                   header Idempotency-Key: retries with the same key start one run
//	GET  /v1/runs?workflow=&status=&limit=&cursor=              → {"runs":[…],"next"}
//	GET  /v1/runs/{workflow}/{key}                              → {"run":{…},"events":[…]}
//	POST /v1/runs/{workflow}/{key}/resubmit  {"by","step","input","state","reason"}
//	POST /v1/runs/{workflow}/{key}/cancel    {"by","reason"}
//	POST /v1/runs/{workflow}/{key}/events    {"name","payload"}   deliver an external event
//	POST /v1/callbacks/{token}               {"output","effects","error"}   finish an async step (a "state" is refused)
//	POST /v1/callbacks/{token}/heartbeat                         extend an async step's timeout
//	GET  /v1/whoami                                             → {"name","role"} of the caller
//	GET  /v1/definitions?name=                                  → [{hash,name,version,created}]
//	POST /v1/definitions                     YAML or JSON body  → {"name","version","hash"}
//	GET  /v1/definitions/{hash}/graph?format=dot|mermaid
//	GET  /v1/review?kind=&resolved=&limit=&cursor=               → {"items":[…],"next"}
//	GET  /v1/review/{id}                                        → a review item
//	POST /v1/review/{id}/resolve         {"action","by","note","body"} → the resolved item
//
// Review items are what needs an operator and is not a run: triggers that
// could not be decoded (kind malformed-trigger: action "discard", or
// "resubmit" with an optional edited "body") and effects that failed on
// their last delivery (kind failed-effect: "redispatch", the default, or
// "discard"). Runs in review are listed with GET /v1/runs?status=review.
//
// Every request is authenticated (WithAuthenticator: bearer tokens locally,
// the IAM caller behind a Function URL) and needs a role: GET and HEAD a
// Viewer, POST /v1/definitions an Admin, every other POST an Operator.
// Operators' and admins' actions are journaled with who did them.
//
// Errors are JSON {"error": "..."} with 400 for bad input (bad JSON, more
// after the JSON value, an invalid cursor, a limit over MaxPage, a bad run
// key), 401 for no or unknown credentials, 403 for a role that may not (or
// a forged callback token), 404 for unknown runs/workflows, 409 for
// operations the run's status forbids, 413 for a body over 1 MiB.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ordoflow/ordo/internal/suggest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/review"
)

// Starter starts a run and gets it driven (the embedded runtime drives it in
// process; in AWS the start is followed by a message to the orchestrator).
type Starter interface {
	Start(ctx context.Context, req orchestrator.StartRequest) (orchestrator.Started, error)
}

// Scheduler gets runs driven: the runtime's one place that schedules
// drives (the embedded runtime drives them in process; in AWS a
// continuation message goes to the orchestrator's queue). The API asks it
// for the runs each command reports as needing a drive; it never drives a
// run itself.
type Scheduler interface {
	Schedule(ctx context.Context, runs ...string) error
}

// Server is the API handler.
type Server struct {
	engine    *orchestrator.Engine
	starter   Starter
	sched     Scheduler
	functions func(string) bool
	auth      Authenticator
	redeliver review.Redeliverer
	names     func() []string
	mux       *http.ServeMux
}

// Option configures a Server.
type Option func(*Server)

// WithFunctions makes pushed definitions be checked against the functions
// the deployment can invoke (the step registry; in AWS, the step Lambdas).
// Without it, pushes are refused.
func WithFunctions(registered func(name string) bool) Option {
	return func(s *Server) { s.functions = registered }
}

// WithFunctionNames lets a push that names a function the deployment
// cannot invoke answer with the closest names among those names returns.
func WithFunctionNames(names func() []string) Option {
	return func(s *Server) { s.names = names }
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// MaxPage bounds the runs one listing returns (?limit=).
const MaxPage = 1000

// New returns the API over engine; starter starts runs and sched gets the
// runs that commands change driven.
func New(engine *orchestrator.Engine, starter Starter, sched Scheduler, opts ...Option) *Server {
	s := &Server{engine: engine, starter: starter, sched: sched, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	s.mux.HandleFunc("POST /v1/runs", s.start)
	s.mux.HandleFunc("GET /v1/runs", s.list)
	s.mux.HandleFunc("GET /v1/runs/{workflow}/{key...}", s.show)
	s.mux.HandleFunc("POST /v1/runs/{workflow}/{key...}", s.operate)
	s.mux.HandleFunc("POST /v1/callbacks/{token}", s.complete)
	s.mux.HandleFunc("POST /v1/callbacks/{token}/heartbeat", s.heartbeat)
	s.mux.HandleFunc("GET /v1/whoami", s.whoami)
	s.mux.HandleFunc("GET /v1/recordings/{workflow}/{key...}", s.recording)
	s.mux.HandleFunc("GET /v1/definitions", s.definitions)
	s.mux.HandleFunc("POST /v1/definitions", s.push)
	s.mux.HandleFunc("GET /v1/definitions/{hash}/graph", s.graph)
	s.routeViews()
	s.mux.HandleFunc("GET /v1/review", s.listReview)
	s.mux.HandleFunc("GET /v1/review/{id...}", s.showReview)
	s.mux.HandleFunc("POST /v1/review/{id...}", s.resolveReview)
	return s
}

// ServeHTTP implements http.Handler.
// Every request is authenticated and checked against its caller's role
// first.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r, ok := s.authorize(w, r); ok {
		s.mux.ServeHTTP(w, r)
	}
}

type startBody struct {
	Workflow string          `json:"workflow"`
	Input    json.RawMessage `json:"input"`
	Key      string          `json:"key"`
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	var b startBody
	if !decode(w, r, &b) {
		return
	}
	if b.Workflow == "" {
		writeErr(w, http.StatusBadRequest, errors.New(`"workflow" is required`))
		return
	}
	trigger, err := startTrigger(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	st, err := s.starter.Start(r.Context(), orchestrator.StartRequest{Workflow: b.Workflow, Input: b.Input, Key: b.Key, Trigger: trigger})
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	code := http.StatusCreated
	if !st.Created {
		code = http.StatusOK
	}
	writeJSON(w, code, map[string]any{"run": st.Run, "created": st.Created, "status": st.Status})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := journal.Query{Workflow: r.URL.Query().Get("workflow"), Cursor: r.URL.Query().Get("cursor")}
	if st := r.URL.Query().Get("status"); st != "" {
		var err error
		if q.Status, err = journal.ParseStatus(st); err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > MaxPage {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("limit %.20q: want a number from 0 to %d", l, MaxPage))
			return
		}
		q.Limit = n
	}
	if err := s.knownWorkflow(r.Context(), q.Workflow); err != nil {
		writeErr(w, status(err), err)
		return
	}
	runs, next, err := s.engine.Store().Runs(r.Context(), q)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	if runs == nil {
		runs = []journal.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs, "next": next})
}

// Event is an event as the API shows it (with its sequence number).
type Event struct {
	Seq int64 `json:"seq"`
	journal.Event
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) {
	run := orchestrator.RunID(r.PathValue("workflow"), r.PathValue("key"))
	head, events, err := s.engine.Store().Load(r.Context(), run)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	out := make([]Event, len(events))
	for i, e := range events {
		out[i] = Event{Seq: e.Seq, Event: e}
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": head, "events": out})
}

type operateBody struct {
	By     string          `json:"by"`
	Step   string          `json:"step"`
	Input  json.RawMessage `json:"input"`
	State  json.RawMessage `json:"state"`
	Reason string          `json:"reason"`
}

func (s *Server) operate(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	var action string
	for _, a := range []string{"resubmit", "cancel", "events"} {
		if len(key) > len(a)+1 && key[len(key)-len(a)-1:] == "/"+a {
			action, key = a, key[:len(key)-len(a)-1]
		}
	}
	if action == "" {
		writeErr(w, http.StatusNotFound, errors.New("unknown operation: POST .../resubmit, .../cancel or .../events"))
		return
	}
	run := orchestrator.RunID(r.PathValue("workflow"), key)
	if action == "events" {
		var ev struct {
			Name    string          `json:"name"`
			Payload json.RawMessage `json:"payload"`
		}
		if !decode(w, r, &ev) {
			return
		}
		rec, err := s.engine.Signal(r.Context(), run, ev.Name, ev.Payload)
		if err != nil {
			writeErr(w, status(err), err)
			return
		}
		s.schedule(r.Context(), rec)
		writeJSON(w, http.StatusAccepted, map[string]any{"run": run, "event": ev.Name})
		return
	}
	var b operateBody
	if !decode(w, r, &b) {
		return
	}
	var rec orchestrator.Receipt
	var err error
	if action == "resubmit" {
		rec, err = s.engine.Resubmit(r.Context(), orchestrator.Resubmission{Run: run, By: by(r, b.By), Step: b.Step,
			Input: b.Input, State: b.State, Reason: b.Reason})
	} else {
		rec, err = s.engine.Cancel(r.Context(), run, by(r, b.By), b.Reason)
	}
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	s.schedule(r.Context(), rec)
	writeJSON(w, http.StatusOK, map[string]any{"run": run, "action": action})
}

// callbackBody is an async step's completion.
type callbackBody struct {
	Output  json.RawMessage `json:"output"`
	State   json.RawMessage `json:"state"`
	Effects []step.Effect   `json:"effects"`
	Error   *step.Failure   `json:"error"`
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	var b callbackBody
	if !decode(w, r, &b) {
		return
	}
	resp := step.Response{Result: step.Result{Output: b.Output, State: b.State, Effects: b.Effects}, Error: b.Error}
	rec, err := s.engine.Complete(r.Context(), r.PathValue("token"), resp)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	s.schedule(r.Context(), rec)
	writeJSON(w, http.StatusOK, map[string]any{"completed": true})
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	if err := s.engine.Heartbeat(r.Context(), r.PathValue("token")); err != nil {
		writeErr(w, status(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"extended": true})
}

// push stores a YAML or JSON definition whose every function the
// deployment can invoke; new runs of its workflow use it. Who pushed it is
// journaled (Engine.Push).
func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeErr(w, bodyStatus(err), fmt.Errorf("request body: %w", err))
		return
	}
	if s.functions == nil {
		writeErr(w, http.StatusForbidden, errors.New("this server cannot check a definition's functions (api.WithFunctions): pushes are refused"))
		return
	}
	d, err := workflow.Load(body, "request", workflow.Functions(s.functions))
	if err != nil {
		if s.names != nil {
			err = suggest.FunctionHints(err, s.names())
		}
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if err := s.engine.Push(r.Context(), d); err != nil {
		writeErr(w, status(err), err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": d.Name, "version": d.Version, "hash": d.Hash()})
}

func (s *Server) definitions(w http.ResponseWriter, r *http.Request) {
	defs, err := s.engine.Store().Definitions(r.Context(), r.URL.Query().Get("name"))
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	out := make([]map[string]any, len(defs))
	for i, d := range defs {
		out[i] = map[string]any{"hash": d.Hash, "name": d.Name, "version": d.Version, "created": d.Created}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	d, err := s.engine.Definition(r.Context(), r.PathValue("hash"))
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch f := r.URL.Query().Get("format"); f {
	case "", "mermaid":
		io.WriteString(w, d.Mermaid(nil))
	case "dot":
		io.WriteString(w, d.Dot(nil))
	default:
		writeErr(w, http.StatusBadRequest, fmt.Errorf("format %q: want dot or mermaid", f))
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeErr(w, bodyStatus(err), fmt.Errorf("request body: %w", err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeErr(w, http.StatusBadRequest, errors.New("request body: more after the JSON value"))
		return false
	}
	return true
}

// bodyStatus is 413 for a body over maxBody, else 400.
func bodyStatus(err error) int {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func status(err error) int {
	switch {
	case errors.Is(err, journal.ErrNotFound), errors.Is(err, orchestrator.ErrUnknownWorkflow), errors.Is(err, orchestrator.ErrUnknownDefinition):
		return http.StatusNotFound
	case errors.Is(err, orchestrator.ErrNotInReview), errors.Is(err, orchestrator.ErrFinished), errors.Is(err, orchestrator.ErrNotAwaited),
		errors.Is(err, journal.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, errNoRedeliverer):
		return http.StatusNotImplemented
	case errors.Is(err, journal.ErrBadCursor):
		return http.StatusBadRequest
	case errors.Is(err, callback.ErrForged):
		return http.StatusForbidden
	case errors.Is(err, orchestrator.ErrBadInput), errors.Is(err, review.ErrBadAction):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// writeJSON writes v indented. Every response goes through Redact: sealed
// values (package sensitive) read "[redacted]", whatever view holds them.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error": "response not encodable"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(sensitive.Redact(b), '\n'))
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// schedule asks the runtime to drive the runs a command left needing a
// drive. The command is journaled either way, so a failure is logged, not
// returned: repeating the command would repeat its effect.
func (s *Server) schedule(ctx context.Context, rec orchestrator.Receipt) {
	if s.sched == nil || len(rec.Wake) == 0 {
		return
	}
	if err := s.sched.Schedule(ctx, rec.Wake...); err != nil {
		slog.Default().Warn("command journaled but its run not scheduled; it is driven on its next wake-up", "runs", rec.Wake, "err", err)
	}
}
