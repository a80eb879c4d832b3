package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/verify"
)

// TestRecording serves a run as a golden journal that package verify reads
// back and replays under the run's own definition.
func TestRecording(t *testing.T) {
	srv, rt, _ := newServer(t)
	if code, body := call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"r1"}}`); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, body)
	}
	if _, err := rt.Wait(context.Background(), "greet/r1"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/recordings/greet/r1", nil)
	req.Header.Set("Authorization", "Bearer viewer-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="greet_r1.json"`) {
		t.Fatalf("status %d, disposition %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	rec, err := verify.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	def, err := rec.RecordedDefinition()
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Replay(rec, def); err != nil {
		t.Errorf("the served recording does not replay: %v", err)
	}
	if code, _ := call(t, srv, "GET", "/v1/recordings/greet/nope", ""); code != http.StatusNotFound {
		t.Errorf("unknown run: %d, want 404", code)
	}
}
