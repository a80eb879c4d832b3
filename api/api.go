// Package api is ordo's HTTP API over the journal and the engine: start
// runs, list and read them, resubmit or cancel runs in review, list and draw
// definitions. `ordo dev` serves it locally; the API Lambda (Function URL)
// serves it in AWS.
//
//	POST /v1/runs                      {"workflow","input","key"} → {"run","created","status"}
//	GET  /v1/runs?workflow=&status=&limit=&cursor=              → {"runs":[…],"next"}
//	GET  /v1/runs/{workflow}/{key}                              → {"run":{…},"events":[…]}
//	POST /v1/runs/{workflow}/{key}/resubmit  {"by","step","input","state","reason"}
//	POST /v1/runs/{workflow}/{key}/cancel    {"by","reason"}
//	GET  /v1/definitions?name=                                  → [{hash,name,version,created}]
//	GET  /v1/definitions/{hash}/graph?format=dot|mermaid
//
// Errors are JSON {"error": "..."} with 400 for bad input, 404 for unknown
// runs/workflows, 409 for operations the run's status forbids.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
)

// Starter starts a run and gets it driven (the embedded runtime drives it in
// process; in AWS the start is followed by a message to the orchestrator).
type Starter interface {
	Start(ctx context.Context, req orchestrator.StartRequest) (orchestrator.Started, error)
}

// Poker gets a run driven again after an operator changed it.
type Poker interface{ Poke(run string) }

// Server is the API handler.
type Server struct {
	engine  *orchestrator.Engine
	starter Starter
	poke    func(string)
	mux     *http.ServeMux
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// New returns the API over engine; starter starts runs and poke (may be nil)
// gets a resubmitted run driven.
func New(engine *orchestrator.Engine, starter Starter, poke func(run string)) *Server {
	s := &Server{engine: engine, starter: starter, poke: poke, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /v1/runs", s.start)
	s.mux.HandleFunc("GET /v1/runs", s.list)
	s.mux.HandleFunc("GET /v1/runs/{workflow}/{key...}", s.show)
	s.mux.HandleFunc("POST /v1/runs/{workflow}/{key...}", s.operate)
	s.mux.HandleFunc("GET /v1/definitions", s.definitions)
	s.mux.HandleFunc("GET /v1/definitions/{hash}/graph", s.graph)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

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
	st, err := s.starter.Start(r.Context(), orchestrator.StartRequest{Workflow: b.Workflow, Input: b.Input, Key: b.Key, Trigger: "api"})
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
	q := journal.Query{Workflow: r.URL.Query().Get("workflow"), Status: journal.Status(r.URL.Query().Get("status")),
		Cursor: r.URL.Query().Get("cursor")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("limit %q is not a non-negative number", l))
			return
		}
		q.Limit = n
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
	for _, a := range []string{"resubmit", "cancel"} {
		if len(key) > len(a)+1 && key[len(key)-len(a)-1:] == "/"+a {
			action, key = a, key[:len(key)-len(a)-1]
		}
	}
	if action == "" {
		writeErr(w, http.StatusNotFound, errors.New("unknown operation: POST .../resubmit or .../cancel"))
		return
	}
	var b operateBody
	if !decode(w, r, &b) {
		return
	}
	run := orchestrator.RunID(r.PathValue("workflow"), key)
	var err error
	if action == "resubmit" {
		err = s.engine.Resubmit(r.Context(), orchestrator.Resubmission{Run: run, By: b.By, Step: b.Step,
			Input: b.Input, State: b.State, Reason: b.Reason})
	} else {
		err = s.engine.Cancel(r.Context(), run, b.By, b.Reason)
	}
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	if s.poke != nil {
		s.poke(run)
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": run, "action": action})
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
		writeErr(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}

func status(err error) int {
	switch {
	case errors.Is(err, journal.ErrNotFound), errors.Is(err, orchestrator.ErrUnknownWorkflow), errors.Is(err, orchestrator.ErrUnknownDefinition):
		return http.StatusNotFound
	case errors.Is(err, orchestrator.ErrNotInReview), errors.Is(err, orchestrator.ErrFinished):
		return http.StatusConflict
	case errors.Is(err, orchestrator.ErrBadInput):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
