package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/review"
)

// WithRedeliverer lets the API resolve review items by handing their
// content back to the platform (without it, only discarding works).
func WithRedeliverer(r review.Redeliverer) Option {
	return func(s *Server) { s.redeliver = r }
}

// unavailable is the Redeliverer of a server the host gave none: only
// discarding works.
type unavailable struct{}

var errNoRedeliverer = errors.New("this server cannot hand review items back to the platform; discard the item, or resolve it through the deployed API")

func (unavailable) Redispatch(context.Context, string, journal.Effect) error { return errNoRedeliverer }

func (unavailable) Redeliver(context.Context, string, string, json.RawMessage) error {
	return errNoRedeliverer
}

func (s *Server) reviews() (journal.Reviews, error) {
	if r, ok := s.engine.Store().(journal.Reviews); ok {
		return r, nil
	}
	return nil, fmt.Errorf("the journal (%T) has no review items", s.engine.Store())
}

func (s *Server) listReview(w http.ResponseWriter, r *http.Request) {
	reviews, err := s.reviews()
	if err != nil {
		writeErr(w, http.StatusNotImplemented, err)
		return
	}
	q := journal.ReviewQuery{Kind: journal.ReviewKind(r.URL.Query().Get("kind")), Cursor: r.URL.Query().Get("cursor")}
	if q.Kind != "" && !slices.Contains(journal.ReviewKinds, q.Kind) {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("kind %q: want one of %s", q.Kind, kindNames()))
		return
	}
	if v := r.URL.Query().Get("resolved"); v != "" {
		if q.Resolved, err = strconv.ParseBool(v); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("resolved %q: want true or false", v))
			return
		}
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("limit %q is not a non-negative number", l))
			return
		}
		q.Limit = n
	}
	items, next, err := reviews.Reviews(r.Context(), q)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	if items == nil {
		items = []journal.ReviewItem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": next})
}

func kindNames() string {
	names := make([]string, len(journal.ReviewKinds))
	for i, k := range journal.ReviewKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func (s *Server) showReview(w http.ResponseWriter, r *http.Request) {
	reviews, err := s.reviews()
	if err != nil {
		writeErr(w, http.StatusNotImplemented, err)
		return
	}
	it, err := reviews.Review(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

// resolveBody asks for a review item to be resolved.
type resolveBody struct {
	Action string          `json:"action"`
	By     string          `json:"by"`
	Note   string          `json:"note"`
	Body   json.RawMessage `json:"body"`
}

func (s *Server) resolveReview(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("id"), "/resolve")
	if !ok || id == "" {
		writeErr(w, http.StatusNotFound, errors.New("unknown operation: POST /v1/review/{id}/resolve"))
		return
	}
	reviews, err := s.reviews()
	if err != nil {
		writeErr(w, http.StatusNotImplemented, err)
		return
	}
	var b resolveBody
	if !decode(w, r, &b) {
		return
	}
	var redeliver review.Redeliverer = unavailable{}
	if s.redeliver != nil {
		redeliver = s.redeliver
	}
	it, err := review.Resolve(r.Context(), reviews, redeliver,
		review.Request{ID: id, Action: b.Action, By: by(r, b.By), Note: b.Note, Body: b.Body}, time.Now())
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}
