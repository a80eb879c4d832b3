package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/workflows"
)

func TestCallbackKeyFileBesideJournal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	if err := ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(0))); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db + ".callback-key")
	if err != nil {
		t.Fatalf("no callback key beside the journal: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("callback key mode %v, want 0600", got)
	}
	// Every later command signs and verifies with the same key.
	first, err := callback.LoadFile(db + ".callback-key")
	if err != nil {
		t.Fatal(err)
	}
	if err := ordo(t, db, "runs"); err != nil {
		t.Fatal(err)
	}
	again, _ := callback.LoadFile(db + ".callback-key")
	c := callback.Claims{Run: "r/1", Step: "s", Attempt: 1}
	if _, err := again.Verify(first.Sign(c)); err != nil {
		t.Fatalf("the key changed between commands: %v", err)
	}
}
