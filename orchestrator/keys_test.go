package orchestrator_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
)

func TestStartRefusesBadKeys(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	e := newEngine(t, store, handlers(nil), diamond)
	for name, key := range map[string]string{
		"900 KB":       strings.Repeat("k", 900<<10),
		"NUL":          "a\x00b",
		"invalid UTF8": "\xff\xfe",
		"newline":      "a\nb",
	} {
		_, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Key: key, Input: json.RawMessage(`{}`)})
		if !errors.Is(err, orchestrator.ErrBadInput) {
			t.Errorf("%s: Start = %v, want ErrBadInput", name, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("%s: an error of %d bytes", name, len(err.Error()))
		}
	}
	// From the key expression too.
	_, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(`{"id":"x\u0000y"}`)})
	if !errors.Is(err, orchestrator.ErrBadInput) {
		t.Errorf("key expression giving a NUL: Start = %v, want ErrBadInput", err)
	}
	if runs, _, _ := store.Runs(ctx, journal.Query{}); len(runs) != 0 {
		t.Errorf("%d runs journaled, want none", len(runs))
	}
	if _, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Key: "ordinary-κλειδί", Input: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
}
