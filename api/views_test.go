package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
)

func getJSON(t *testing.T, srv *httptest.Server, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer viewer-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

type runsPage struct {
	Runs        []api.RunRow           `json:"runs"`
	Next        string                 `json:"next"`
	Counts      map[journal.Status]int `json:"counts"`
	CountsExact bool                   `json:"countsExact"`
}

func ids(rows []api.RunRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestViewRunsCountsAndFilters(t *testing.T) {
	srv, rt, _ := newServer(t)
	for _, body := range []string{`{"id":"a1"}`, `{"id":"a2"}`, `{"id":"b1","decline":true}`, `{"id":"w1","wait":true}`} {
		call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":`+body+`}`)
	}
	waitStatus(t, rt, "greet/a1", journal.StatusCompleted)
	waitStatus(t, rt, "greet/a2", journal.StatusCompleted)
	waitStatus(t, rt, "greet/b1", journal.StatusReview)
	waitStatus(t, rt, "greet/w1", journal.StatusRunning)

	var all runsPage
	if code := getJSON(t, srv, "/v1/views/runs", &all); code != 200 {
		t.Fatalf("list: %d", code)
	}
	want := map[journal.Status]int{journal.StatusCompleted: 2, journal.StatusReview: 1, journal.StatusRunning: 1}
	if diff := cmp.Diff(all.Counts, want); diff != "" || !all.CountsExact || len(all.Runs) != 4 {
		t.Errorf("counts (-got +want):\n%s exact=%v runs=%v", diff, all.CountsExact, ids(all.Runs))
	}
	hash := all.Runs[0].DefHash
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"status=review", []string{"greet/b1"}},
		{"workflow=greet&key=a2", []string{"greet/a2"}},
		{"workflow=greet&key=a", []string{}}, // exact with a workflow
		{"key=1&status=completed", []string{"greet/a1"}},
		{"def=" + hash[:12] + "&status=running", []string{"greet/w1"}},
		{"def=sha256:nope", []string{}},
		{"workflow=other", []string{}},
		{"until=2000-01-01T00:00:00Z", []string{}},
	} {
		var p runsPage
		if code := getJSON(t, srv, "/v1/views/runs?"+tc.query, &p); code != 200 {
			t.Errorf("%s: %d", tc.query, code)
			continue
		}
		if diff := cmp.Diff(ids(p.Runs), tc.want); diff != "" {
			t.Errorf("%s (-got +want):\n%s", tc.query, diff)
		}
	}
	// Pages follow each other without gaps or repeats.
	var seen []string
	for cursor, n := "", 0; n < 10; n++ {
		var p runsPage
		getJSON(t, srv, "/v1/views/runs?limit=3&cursor="+cursor, &p)
		seen = append(seen, ids(p.Runs)...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 4 {
		t.Errorf("paging saw %v, want the 4 runs once each", seen)
	}
}

func TestViewRun(t *testing.T) {
	srv, rt, _ := newServer(t)
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"r","decline":true}}`)
	waitStatus(t, rt, "greet/r", journal.StatusReview)

	var v api.RunView
	if code := getJSON(t, srv, "/v1/views/run?events=1&id=greet/r", &v); code != 200 {
		t.Fatalf("view: %d", code)
	}
	if v.Status != journal.StatusReview || v.At != v.Last || len(v.Events) == 0 || v.Key != "r" {
		t.Fatalf("view: status %s at %d last %d, %d events, key %q", v.Status, v.At, v.Last, len(v.Events), v.Key)
	}
	got := map[string]string{}
	for _, s := range v.Steps {
		got[s.Name] = s.Status
	}
	if diff := cmp.Diff(got, map[string]string{"hi": "review", "go": "pending", "cb": "pending"}); diff != "" {
		t.Errorf("step statuses (-got +want):\n%s", diff)
	}
	hi := v.Steps[0]
	if len(hi.Attempts) != 1 || hi.Attempts[0].Result != "failed" || hi.Attempts[0].Error == nil || string(hi.Attempts[0].StateBefore) != "{}" {
		t.Errorf("hi's attempts: %+v", hi.Attempts)
	}
	if len(v.Definition.Nodes) != 3 || v.Definition.Nodes[1].After[0] != "hi" {
		t.Errorf("definition graph: %+v", v.Definition.Nodes)
	}

	// At the first commit (the run's start, which the embedded runtime
	// journals with its first decision: hi scheduled), hi is running and
	// the run is not in review.
	var first api.RunView
	getJSON(t, srv, "/v1/views/run?at=1&id=greet/r", &first)
	if first.At != 1 || first.Status != journal.StatusRunning || first.Steps[0].Status != "running" || len(first.Events) != 0 {
		t.Errorf("at 1: at %d status %s hi %s, %d events", first.At, first.Status, first.Steps[0].Status, len(first.Events))
	}
}

func TestViewsRefuseBadInput(t *testing.T) {
	srv, _, _ := newServer(t)
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/v1/views/run", 400, `"id"`},
		{"/v1/views/run?id=greet/missing", 404, `run "greet/missing"`},
		{"/v1/views/run?id=greet/x&at=last", 400, `at "last"`},
		{"/v1/views/run?id=greet/x&items=-1", 400, `items "-1"`},
		{"/v1/views/runs?limit=0", 400, `limit "0"`},
		{"/v1/views/runs?since=yesterday", 400, `since "yesterday"`},
		{"/v1/views/review?until=2026-13-01", 400, `until "2026-13-01"`},
		{"/v1/views/definition", 400, `"hash"`},
		{"/v1/views/definition?hash=sha256:nope", 404, "unknown definition"},
	} {
		code, out := call(t, srv, "GET", tc.path, "")
		if msg, _ := out["error"].(string); code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("GET %s: %d %q, want %d mentioning %q", tc.path, code, msg, tc.code, tc.want)
		}
	}
}

func TestViewReviewAndDefinitions(t *testing.T) {
	srv, rt, _ := newServer(t)
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"q","decline":true}}`)
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"ok"}}`)
	waitStatus(t, rt, "greet/q", journal.StatusReview)
	waitStatus(t, rt, "greet/ok", journal.StatusCompleted)

	var review struct {
		Items []api.ReviewItem `json:"items"`
	}
	getJSON(t, srv, "/v1/views/review", &review)
	if len(review.Items) != 1 {
		t.Fatalf("review: %+v", review.Items)
	}
	it := review.Items[0]
	var in map[string]any
	if len(it.Failed) == 1 {
		_ = json.Unmarshal(it.Failed[0].Input, &in)
	}
	if it.Run != "greet/q" || !strings.Contains(it.Reason, "hi") || len(it.Failed) != 1 || it.Failed[0].Name != "hi" || in["decline"] != true {
		t.Errorf("review item: %+v, failed steps %+v", it, it.Failed)
	}

	var defs []api.DefinitionRow
	getJSON(t, srv, "/v1/views/definitions", &defs)
	if len(defs) != 1 || defs[0].InFlight != 1 || defs[0].Name != "greet" {
		t.Errorf("definitions: %+v, want greet with 1 run in flight (the one in review)", defs)
	}
	var def struct {
		Graph api.DefinitionView `json:"graph"`
		JSON  map[string]any     `json:"json"`
	}
	if code := getJSON(t, srv, "/v1/views/definition?hash="+defs[0].Hash, &def); code != 200 || len(def.Graph.Nodes) != 3 || def.JSON["name"] != "greet" {
		t.Errorf("definition: %d %+v", code, def)
	}

	// A stale resubmit (the run left review) is refused and changes nothing.
	if code, out := call(t, srv, "POST", "/v1/runs/greet/q/resubmit", `{"by":"ops","input":`); code != 400 {
		t.Errorf("resubmit with invalid JSON: %d %v", code, out)
	}
	call(t, srv, "POST", "/v1/runs/greet/q/resubmit", `{"by":"ops","step":"hi","input":{"id":"q"}}`)
	waitStatus(t, rt, "greet/q", journal.StatusCompleted)
	_, before, _ := rt.Engine.Store().Load(t.Context(), "greet/q")
	if code, out := call(t, srv, "POST", "/v1/runs/greet/q/resubmit", `{"by":"ops"}`); code != http.StatusConflict || !strings.Contains(out["error"].(string), "not in review") {
		t.Errorf("stale resubmit: %d %v", code, out)
	}
	_, after, _ := rt.Engine.Store().Load(t.Context(), "greet/q")
	if len(after) != len(before) {
		t.Errorf("a refused resubmit appended %d events", len(after)-len(before))
	}
}

func TestViewReviewShowsRunsItCannotFold(t *testing.T) {
	srv, rt, _ := newServer(t)
	_, err := rt.Engine.Store().Append(t.Context(), journal.Commit{Run: "_old/x", Workflow: "_old", DefHash: "none",
		Status: journal.StatusReview, At: time.Now(), Events: []journal.Event{{Kind: journal.NeedsReview, Reason: "malformed"}}})
	if err != nil {
		t.Fatal(err)
	}
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"z","decline":true}}`)
	waitStatus(t, rt, "greet/z", journal.StatusReview)
	var review struct {
		Items []api.ReviewItem `json:"items"`
	}
	if code := getJSON(t, srv, "/v1/views/review", &review); code != 200 || len(review.Items) != 2 {
		t.Fatalf("review: %d %+v", code, review.Items)
	}
	for _, it := range review.Items {
		if it.Run == "_old/x" && !strings.Contains(it.Reason, "cannot show") {
			t.Errorf("the unfoldable run: %+v", it)
		}
	}
}
