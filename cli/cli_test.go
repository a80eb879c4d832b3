package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/workflows"
)

// ordo runs the CLI with args on db and returns its error.
func ordo(t *testing.T, db string, args ...string) error {
	t.Helper()
	root := Command(App{Register: workflows.Register, Definitions: workflows.Definitions})
	root.SetArgs(append([]string{"--db", db}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return root.ExecuteContext(ctx)
}

func head(t *testing.T, db, run string) (journal.Run, []journal.Event) {
	t.Helper()
	s, err := sqlitejournal.New(context.Background(), db, sqlitejournal.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, events, err := s.Load(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return h, events
}

func TestStartReviewResubmit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	// The 25th sample order pays with the declined test card.
	order := workflows.SampleOrder(workflows.SampleDeclinedEvery - 1)
	if err := ordo(t, db, "start", "order", "--input", string(order)); err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	json.Unmarshal(order, &o)
	run := "order/" + o["orderId"].(string)
	if h, _ := head(t, db, run); h.Status != journal.StatusReview {
		t.Fatalf("status %s, want review", h.Status)
	}
	// An operator fixes the card and resubmits the charge with edited input.
	_, events := head(t, db, run)
	var chargeInput map[string]any
	for _, e := range events {
		if e.Kind == journal.StepScheduled && e.Step == "charge" {
			json.Unmarshal(e.Input, &chargeInput)
		}
	}
	chargeInput["order"].(map[string]any)["payment"].(map[string]any)["cardNumber"] = "4242424242424242"
	edited, _ := json.Marshal(chargeInput)
	if err := ordo(t, db, "resubmit", run, "--step", "charge", "--input", string(edited), "--by", "ops"); err != nil {
		t.Fatal(err)
	}
	h, events := head(t, db, run)
	if h.Status != journal.StatusCompleted {
		t.Fatalf("after resubmit: %s, want completed", h.Status)
	}
	found := false
	for _, e := range events {
		found = found || e.Kind == journal.Resubmitted && e.By == "ops"
	}
	if !found {
		t.Fatal("the resubmission is not journaled with its operator")
	}
	if err := ordo(t, db, "cancel", run); err == nil || !strings.Contains(err.Error(), "already finished") {
		t.Fatalf("cancel of a completed run: %v", err)
	}
}

func TestOperatorErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"start", "order", "--input", "{nope"}, "not valid JSON"},
		{[]string{"start", "nope"}, "unknown workflow"},
		{[]string{"show", "order/none"}, "not found"},
		{[]string{"resubmit", "order/none"}, "not found"},
		{[]string{"event", "send", "order/none", "x", "--payload", "{"}, "not valid JSON"},
		{[]string{"callback", "complete", "garbage"}, "malformed token"},
		{[]string{"runs", "--format", "xml"}, "want table or json"},
		{[]string{"graph", "order", "--format", "png"}, "want dot or mermaid"},
		{[]string{"definitions", "push", "testdata/missing.yaml"}, "no such file"},
	} {
		err := ordo(t, db, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ordo %v: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}

// TestPushNewVersion pushes a new version of the order workflow from a
// file, as an operator would while runs are in flight: new runs start on
// it, a run started before keeps the version it pinned.
func TestPushNewVersion(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ordo.db")
	if err := ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(0))); err != nil {
		t.Fatal(err)
	}
	v2 := strings.Replace(string(orderYAML(t)), `version: "2"`, `version: "3"`, 1)
	file := filepath.Join(dir, "order-v3.yaml")
	if err := os.WriteFile(file, []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ordo(t, db, "definitions", "push", file); err != nil {
		t.Fatal(err)
	}
	if err := ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(1))); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitejournal.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defs, _ := s.Definitions(context.Background(), "order")
	if len(defs) != 2 || defs[0].Version != "3" {
		t.Fatalf("stored order definitions: %+v, want v3 newest of two", defs)
	}
	var o0, o1 map[string]any
	json.Unmarshal(workflows.SampleOrder(0), &o0)
	json.Unmarshal(workflows.SampleOrder(1), &o1)
	h0, _ := head(t, db, "order/"+o0["orderId"].(string))
	h1, _ := head(t, db, "order/"+o1["orderId"].(string))
	if h0.DefHash == defs[0].Hash || h1.DefHash != defs[0].Hash {
		t.Fatalf("run before the push pinned %s, run after pinned %s; v3 is %s", h0.DefHash, h1.DefHash, defs[0].Hash)
	}
}

func orderYAML(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../workflows/order/order.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJournalInUse runs commands beside a process that writes the journal
// (here a Store held open, as `ordo dev` holds it): read commands work,
// write commands fail at once naming the holder and the way through it.
func TestJournalInUse(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	if err := ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(0))); err != nil {
		t.Fatal(err)
	}
	w, err := sqlitejournal.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := ordo(t, db, "runs"); err != nil {
		t.Errorf("runs beside a writer: %v", err)
	}
	err = ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(1)))
	if !errors.Is(err, sqlitejournal.ErrLocked) || !strings.Contains(err.Error(), "--addr") ||
		!strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("start beside a writer: got %v, want ErrLocked naming pid %d and --addr", err, os.Getpid())
	}
}
