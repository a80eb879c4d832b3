package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
)

func (s *Server) viewRun(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	id := p.Get("id")
	if id == "" {
		writeErr(w, http.StatusBadRequest, errors.New(`"id" (a run id, workflow/key) is required`))
		return
	}
	var opts viewOptions
	for _, n := range []struct {
		name string
		dst  *int64
	}{{"at", &opts.at}, {"after", &opts.after}} {
		if v := p.Get(n.name); v != "" {
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				writeErr(w, http.StatusBadRequest, fmt.Errorf("%s %q: want a commit sequence number (0 or more)", n.name, v))
				return
			}
			*n.dst = x
		}
	}
	if v := p.Get("items"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x < 0 {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("items %q: want an item offset (0 or more)", v))
			return
		}
		opts.itemOffset = x
	}
	opts.events = p.Get("events") == "1" || p.Has("after")
	v, err := s.runView(r.Context(), id, opts)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	writeCompact(w, v)
}

// writeCompact writes a view unindented: a large run's view is megabytes.
// Sealed values read "[redacted]" (see writeJSON).
func writeCompact(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(sensitive.Redact(b), '\n')) // a failed write means the client left
}

func (s *Server) runView(ctx context.Context, id string, opts viewOptions) (*RunView, error) {
	head, events, err := s.engine.Store().Load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", id, err)
	}
	def, err := s.engine.Definition(ctx, head.DefHash)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", id, err)
	}
	return buildRunView(def, head, events, opts)
}

// ReviewItem is a run in review: why, and the steps that failed.
type ReviewItem struct {
	Run     string          `json:"run"`
	Key     string          `json:"key"`
	Updated time.Time       `json:"updated"`
	Reason  string          `json:"reason"`
	Failed  []*StepView     `json:"failed"`
	State   json.RawMessage `json:"state"`
	Seq     int64           `json:"seq"`
	// Workflow and DefHash come from the run's head.
	Workflow string `json:"workflow"`
	DefHash  string `json:"defHash"`
}

func (s *Server) viewReview(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	q, err := runQuery(p)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	q.Status = journal.StatusReview
	runs, next, err := s.engine.Store().Runs(r.Context(), q)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	items := make([]ReviewItem, 0, len(runs))
	for _, run := range runs {
		v, err := s.runView(r.Context(), run.ID, viewOptions{})
		if err != nil {
			// One run that cannot be folded does not hide the others.
			items = append(items, ReviewItem{Run: run.ID, Key: row(run).Key, Updated: run.Updated, Seq: run.Seq,
				Reason: "cannot show this run: " + err.Error(), Failed: []*StepView{}, Workflow: run.Workflow, DefHash: run.DefHash})
			continue
		}
		it := ReviewItem{Run: run.ID, Key: row(run).Key, Updated: run.Updated, Reason: v.Reason, State: v.State,
			Seq: v.Last, Failed: []*StepView{}, Workflow: run.Workflow, DefHash: run.DefHash}
		for _, st := range v.Steps {
			if st.Status == "review" {
				st.Attempts = nil // the run page has them
				it.Failed = append(it.Failed, st)
			}
		}
		items = append(items, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": next})
}

// DefinitionRow is a stored definition with its runs in flight.
type DefinitionRow struct {
	Hash     string    `json:"hash"`
	Name     string    `json:"name"`
	Version  string    `json:"version"`
	Created  time.Time `json:"created"`
	InFlight int       `json:"inFlight"`
}

// inFlight are the statuses of runs not finished.
var inFlight = []journal.Status{journal.StatusRunning, journal.StatusWaiting, journal.StatusReview, journal.StatusDeferred}

func (s *Server) viewDefinitions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.URL.Query().Get("name")
	defs, err := s.engine.Store().Definitions(ctx, name)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	perHash, err := s.inFlight(ctx, name)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	out := make([]DefinitionRow, len(defs))
	for i, d := range defs {
		out[i] = DefinitionRow{Hash: d.Hash, Name: d.Name, Version: d.Version, Created: d.Created, InFlight: perHash[d.Hash]}
	}
	writeJSON(w, http.StatusOK, out)
}

// DefinitionCounter is implemented by journals that count runs in flight
// per definition in one query (the SQLite journal does); others are
// counted by listing, up to a cap.
type DefinitionCounter interface {
	CountInFlight(ctx context.Context, workflow string) (map[string]int, error)
}

// inFlight counts the runs not finished per definition hash.
func (s *Server) inFlight(ctx context.Context, workflow string) (map[string]int, error) {
	if c, ok := unwrap(s.engine.Store()).(DefinitionCounter); ok {
		return c.CountInFlight(ctx, workflow)
	}
	perHash := map[string]int{}
	for _, st := range inFlight {
		if err := s.eachRun(ctx, journal.Query{Workflow: workflow, Status: st}, func(r journal.Run) { perHash[r.DefHash]++ }); err != nil {
			return nil, err
		}
	}
	return perHash, nil
}

// eachRun calls f for each run matching q, up to countCap runs.
func (s *Server) eachRun(ctx context.Context, q journal.Query, f func(journal.Run)) error {
	q.Limit = scanPage
	for n := 0; n < countCap; {
		runs, next, err := s.engine.Store().Runs(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range runs {
			f(r)
		}
		n += len(runs)
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
	return nil
}

func (s *Server) viewDefinition(w http.ResponseWriter, r *http.Request) {
	hash := r.URL.Query().Get("hash")
	if hash == "" {
		writeErr(w, http.StatusBadRequest, errors.New(`"hash" (a definition hash) is required`))
		return
	}
	def, err := s.engine.Definition(r.Context(), hash)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	raw, err := json.Marshal(def)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"graph": definitionView(def), "json": json.RawMessage(raw)})
}
