package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// The read views the visualizer uses (all GET, none writes):
//
//	/v1/views/runs?workflow=&status=&def=&key=&since=&until=&limit=&cursor=
//	        → {"runs":[…],"next","counts":{status:n},"countsExact"}
//	/v1/views/run?id=&at=&events=1&after=&items= → RunView (folded at commit at)
//	/v1/views/review?workflow=&limit=&cursor= → {"items":[…],"next"}
//	/v1/views/definitions?name=               → [{hash,name,version,created,inFlight}]
//	/v1/views/definition?hash=                → {"graph":DefinitionView,"json":…}
func (s *Server) routeViews() {
	s.mux.HandleFunc("GET /v1/views/runs", s.viewRuns)
	s.mux.HandleFunc("GET /v1/views/run", s.viewRun)
	s.mux.HandleFunc("GET /v1/views/review", s.viewReview)
	s.mux.HandleFunc("GET /v1/views/definitions", s.viewDefinitions)
	s.mux.HandleFunc("GET /v1/views/definition", s.viewDefinition)
}

// Scan bounds: a filter the journal cannot apply itself (definition, key
// substring) reads at most scanPages pages per request and returns a
// cursor to go on from; counting by listing reads pages of scanPage.
const (
	scanPage  = 1000
	scanPages = 50
	// countCap bounds counting by listing, for journals without a counter.
	countCap = 20000
)

// StatusCounter is implemented by journals that count runs per status in
// one query (the SQLite journal does); others are counted by listing, up
// to a cap.
type StatusCounter interface {
	CountRuns(ctx context.Context, q journal.Query) (map[journal.Status]int, error)
}

// RunRow is a run head in a listing, with its key.
type RunRow struct {
	journal.Run
	Key string `json:"key"`
}

func (s *Server) viewRuns(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	q, err := runQuery(p)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	rows, next, err := s.filteredRuns(ctx, q, p.Get("def"), p.Get("key"))
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	cq := q
	cq.Status, cq.Cursor = "", ""
	counts, exact, err := s.countRuns(ctx, cq)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": rows, "next": next, "counts": counts, "countsExact": exact})
}

// runQuery reads a listing's filters, naming the parameter that is wrong.
func runQuery(p url.Values) (journal.Query, error) {
	q := journal.Query{Workflow: p.Get("workflow"), Status: journal.Status(p.Get("status")), Cursor: p.Get("cursor"), Limit: 50}
	if l := p.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return q, fmt.Errorf("limit %q: want a number from 1 to 1000", l)
		}
		q.Limit = n
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		v := p.Get(t.name)
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return q, fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", t.name, v)
		}
		*t.dst = at
	}
	return q, nil
}

// filteredRuns lists runs matching q, a definition hash (or its prefix) and
// a key (exact when the workflow is given, else a substring of the id).
func (s *Server) filteredRuns(ctx context.Context, q journal.Query, def, key string) ([]RunRow, string, error) {
	if key != "" && q.Workflow != "" {
		head, _, err := s.engine.Store().Load(ctx, q.Workflow+"/"+key)
		if errors.Is(err, journal.ErrNotFound) {
			return []RunRow{}, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		if (q.Status == "" || head.Status == q.Status) && strings.HasPrefix(head.DefHash, def) {
			return []RunRow{row(head)}, "", nil
		}
		return []RunRow{}, "", nil
	}
	keep := func(r journal.Run) bool {
		return strings.HasPrefix(r.DefHash, def) && (key == "" || strings.Contains(row(r).Key, key))
	}
	want := q.Limit
	if def == "" && key == "" {
		runs, next, err := s.engine.Store().Runs(ctx, q)
		return rows(runs, keep), next, err
	}
	// Filter page by page; a page's matches are all returned, so a page
	// may hold a few more rows than asked for, and none is skipped.
	out := []RunRow{}
	q.Limit = max(want, 100)
	for range scanPages {
		runs, next, err := s.engine.Store().Runs(ctx, q)
		if err != nil {
			return nil, "", err
		}
		out = append(out, rows(runs, keep)...)
		if next == "" || len(out) >= want {
			return out, next, nil
		}
		q.Cursor = next
	}
	return out, q.Cursor, nil
}

// unwrap finds the journal under wrappers (such as a metrics observer)
// that implement Unwrap, for its optional interfaces.
func unwrap(st journal.Store) journal.Store {
	for {
		w, ok := st.(interface{ Unwrap() journal.Store })
		if !ok {
			return st
		}
		st = w.Unwrap()
	}
}

func row(r journal.Run) RunRow {
	key, ok := strings.CutPrefix(r.ID, r.Workflow+"/")
	if !ok {
		key = r.ID
	}
	return RunRow{Run: r, Key: key}
}

func rows(runs []journal.Run, keep func(journal.Run) bool) []RunRow {
	out := make([]RunRow, 0, len(runs))
	for _, r := range runs {
		if keep(r) {
			out = append(out, row(r))
		}
	}
	return out
}

// countRuns counts runs per status: exactly with a StatusCounter, else by
// listing up to countCap runs (exact is then false when the cap was hit).
func (s *Server) countRuns(ctx context.Context, q journal.Query) (map[journal.Status]int, bool, error) {
	if c, ok := unwrap(s.engine.Store()).(StatusCounter); ok {
		counts, err := c.CountRuns(ctx, q)
		return counts, true, err
	}
	counts := map[journal.Status]int{}
	q.Limit = scanPage
	for n := 0; n < countCap; {
		runs, next, err := s.engine.Store().Runs(ctx, q)
		if err != nil {
			return nil, false, err
		}
		for _, r := range runs {
			counts[r.Status]++
		}
		n += len(runs)
		if next == "" {
			return counts, true, nil
		}
		q.Cursor = next
	}
	return counts, false, nil
}
