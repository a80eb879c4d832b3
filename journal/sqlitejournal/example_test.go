package sqlitejournal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ordo")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlitejournal.New(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	start := journal.Commit{
		Run: "order-42", After: 0, Workflow: "order", DefHash: "sha256:abc",
		Status: journal.StatusRunning, At: now,
		Events: []journal.Event{
			{Kind: journal.RunStarted, At: now, Input: json.RawMessage(`{"sku":"A"}`)},
			{Kind: journal.StepScheduled, At: now, Step: "charge", Attempt: 1},
		},
	}
	seq, err := s.Append(ctx, start)
	fmt.Println("started at seq", seq, err)

	// A duplicate start finds the run already there.
	_, err = s.Append(ctx, start)
	fmt.Println("duplicate start conflicts:", errors.Is(err, journal.ErrConflict))

	seq, err = s.Append(ctx, journal.Commit{
		Run: "order-42", After: seq, Status: journal.StatusCompleted, At: now.Add(time.Second),
		Events: []journal.Event{
			{Kind: journal.StepSucceeded, At: now, Step: "charge", Attempt: 1, Output: json.RawMessage(`{"ok":true}`)},
			{Kind: journal.RunCompleted, At: now},
		},
	})
	fmt.Println("completed at seq", seq, err)

	head, events, err := s.Load(ctx, "order-42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(head.Workflow, head.Status, head.Seq)
	for _, e := range events {
		fmt.Println(e.Seq, e.Kind, e.Attempt)
	}
	// Output:
	// started at seq 1 <nil>
	// duplicate start conflicts: true
	// completed at seq 2 <nil>
	// order completed 2
	// 1 RunStarted 0
	// 1 StepScheduled 1
	// 2 StepSucceeded 1
	// 2 RunCompleted 0
}

// A second writer on a file fails at open, naming the holder; a read-only
// Store reads beside the writer.
func ExampleReadOnly() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ordo")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "journal.db")

	w, err := sqlitejournal.New(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	_, err = sqlitejournal.New(ctx, path)
	var locked *sqlitejournal.LockedError
	fmt.Println(errors.Is(err, sqlitejournal.ErrLocked), errors.As(err, &locked) && locked.Holder.PID == os.Getpid())

	r, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly())
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	runs, _, err := r.Runs(ctx, journal.Query{})
	fmt.Println(len(runs), err)
	// Output:
	// true true
	// 0 <nil>
}
