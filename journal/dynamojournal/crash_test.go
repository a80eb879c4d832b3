package dynamojournal_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// failHeads makes every UpdateItem (the Store's only use of it is the head
// write) fail before it is sent while on is set, and the next times ones
// after it: a writer that stopped between its commit and its head write, as
// far as the table can tell.
type failHeads struct {
	on    atomic.Bool
	times atomic.Int32
}

func (f *failHeads) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("failHeads",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				if awsmiddleware.GetOperationName(ctx) == "UpdateItem" && (f.on.Load() || f.times.Add(-1) >= 0) {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("head write lost (test)")
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// rawHead reads the head item as stored: its status and seq, or "" and 0
// when it is missing.
func rawHead(t *testing.T, c *dynamodb.Client, table, run string) (string, string) {
	t.Helper()
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "RUN#" + run},
			"sk": &types.AttributeValueMemberS{Value: "HEAD"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return "", ""
	}
	st, _ := out.Item["status"].(*types.AttributeValueMemberS)
	seq, _ := out.Item["seq"].(*types.AttributeValueMemberN)
	if st == nil || seq == nil {
		t.Fatalf("head item without status or seq: %v", out.Item)
	}
	return st.Value, seq.Value
}

// appendHeadPending appends c, whose head write is failing, and checks that
// Append still succeeds: the commit landed, and its caller must go on.
func appendHeadPending(t *testing.T, s journal.Store, c journal.Commit) {
	t.Helper()
	if seq, err := s.Append(t.Context(), c); err != nil || seq != c.After+1 {
		t.Fatalf("append with a failing head write: got %d, %v; want %d and no error", seq, err, c.After+1)
	}
}

// TestCrashBetweenCommitAndHead checks that a commit whose head write never
// happened leaves a run that Load reads exactly as if it had, and that the
// head is repaired by the next Load (from any Store) or by the writer's
// next Append, with one UpdateItem, and by nothing when it is up to date.
func TestCrashBetweenCommitAndHead(t *testing.T) {
	t.Parallel()
	var fail failHeads
	var n calls
	c := newClient(t, fail.option, n.option)
	table := newTable(t, c)
	w := dynamojournal.New(c, table) // the writer whose head writes fail

	want := journal.Run{ID: "run-c", Workflow: "order", DefHash: "sha256:order", Status: journal.StatusRunning,
		Seq: 1, Created: t0, Updated: t0}
	load := func(s *dynamojournal.Store, what string, wantCalls map[string]int) {
		t.Helper()
		n.take()
		head, events, err := s.Load(t.Context(), "run-c")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if diff := cmp.Diff(head, want); diff != "" {
			t.Errorf("%s: head (-got +want):\n%s", what, diff)
		}
		if len(events) == 0 || events[len(events)-1].Seq != want.Seq {
			t.Errorf("%s: got %d events, the last not of commit %d", what, len(events), want.Seq)
		}
		if got := n.take(); !cmp.Equal(got, wantCalls) {
			t.Errorf("%s: got calls %v, want %v", what, got, wantCalls)
		}
	}

	// 1. The start's head write is lost: no head item at all.
	fail.on.Store(true)
	appendHeadPending(t, w, startCommit("run-c"))
	if st, _ := rawHead(t, c, table, "run-c"); st != "" {
		t.Fatalf("head item written (%s) although its write failed", st)
	}
	// Load fails while the repair fails.
	if _, _, err := dynamojournal.New(c, table).Load(t.Context(), "run-c"); !errors.Is(err, dynamojournal.ErrHeadPending) {
		t.Errorf("load while the repair fails: got %v, want ErrHeadPending", err)
	}
	fail.on.Store(false)
	// Another process's Load repairs it...
	// A new Store's head write records its shard count first: 2 UpdateItem.
	load(dynamojournal.New(c, table), "load without a head", map[string]int{"Query": 1, "UpdateItem": 2})
	if st, seq := rawHead(t, c, table, "run-c"); st != "running" || seq != "1" {
		t.Errorf("head after repair: got %s at %s, want running at 1", st, seq)
	}
	// ...once: an up-to-date head costs no write.
	load(dynamojournal.New(c, table), "load with the head repaired", map[string]int{"Query": 1})
	// The head is listed.
	eventuallyListed(t, w, journal.Query{Status: journal.StatusRunning}, "run-c")

	// 2. A status change's head write is lost: the head lags.
	mustAppend(t, w, stepCommit("run-c", 1, `{}`))
	mv := stepCommit("run-c", 2, `{}`)
	mv.Status = journal.StatusWaiting
	fail.on.Store(true)
	appendHeadPending(t, w, mv)
	fail.on.Store(false)
	if st, seq := rawHead(t, c, table, "run-c"); st != "running" || seq != "1" {
		t.Fatalf("head after a lost head write: got %s at %s, want running at 1", st, seq)
	}
	// The writer's next Append pays the head write it owes.
	n.take()
	mustAppend(t, w, stepCommit("run-c", 3, `{}`))
	if got, wantCalls := n.take(), map[string]int{"PutItem": 1, "UpdateItem": 1}; !cmp.Equal(got, wantCalls) {
		t.Errorf("append owing a head write: got calls %v, want %v", got, wantCalls)
	}
	if st, seq := rawHead(t, c, table, "run-c"); st != "waiting" || seq != "3" {
		t.Errorf("head after the next append: got %s at %s, want waiting at 3", st, seq)
	}
	// And owes nothing after that.
	n.take()
	mustAppend(t, w, stepCommit("run-c", 4, `{}`))
	if got, wantCalls := n.take(), map[string]int{"PutItem": 1}; !cmp.Equal(got, wantCalls) {
		t.Errorf("append after the repair: got calls %v, want %v", got, wantCalls)
	}
	want.Status, want.Seq, want.Updated = journal.StatusWaiting, 5, t0.Add(2*time.Second)
	load(dynamojournal.New(c, table), "load after the writer's repair", map[string]int{"Query": 1})
	eventuallyListed(t, w, journal.Query{Status: journal.StatusWaiting}, "run-c")

	// 3. A writer that crashed after a status change (its Store is gone):
	// the next Load from another Store sees the lag and repairs it.
	mv = stepCommit("run-c", 5, `{}`)
	mv.Status = journal.StatusCompleted
	fail.on.Store(true)
	appendHeadPending(t, dynamojournal.New(c, table), mv)
	fail.on.Store(false)
	want.Status, want.Seq, want.Updated = journal.StatusCompleted, 6, t0.Add(5*time.Second)
	load(dynamojournal.New(c, table), "load after a crash", map[string]int{"Query": 1, "UpdateItem": 2})
	if st, seq := rawHead(t, c, table, "run-c"); st != "completed" || seq != "6" {
		t.Errorf("head after repair: got %s at %s, want completed at 6", st, seq)
	}
	eventuallyListed(t, w, journal.Query{Status: journal.StatusCompleted}, "run-c")
}

// TestColdStatusChangeWithoutHead checks that a Store that knows nothing of
// a run whose head is missing still creates the head on a status change:
// its update finds no head, so it reads the first commit and writes all of
// it.
func TestColdStatusChangeWithoutHead(t *testing.T) {
	t.Parallel()
	var fail failHeads
	var n calls
	c := newClient(t, fail.option, n.option)
	table := newTable(t, c)
	fail.on.Store(true)
	appendHeadPending(t, dynamojournal.New(c, table), startCommit("run-h"))
	fail.on.Store(false)

	mv := stepCommit("run-h", 1, `{}`)
	mv.Status = journal.StatusReview
	n.take()
	mustAppend(t, dynamojournal.New(c, table), mv)
	// UpdateItem: the shard count record (once per Store), the head's
	// moving fields (no head), the whole head.
	if got, want := n.take(), map[string]int{"GetItem": 2, "PutItem": 1, "UpdateItem": 3}; !cmp.Equal(got, want) {
		t.Errorf("cold status change without a head: got calls %v, want %v", got, want)
	}
	if st, seq := rawHead(t, c, table, "run-h"); st != "review" || seq != "2" {
		t.Errorf("head: got %s at %s, want review at 2", st, seq)
	}
	eventuallyListed(t, dynamojournal.New(c, table), journal.Query{Workflow: "order", Status: journal.StatusReview}, "run-h")
}

// TestHeadNeverMovesBack checks that when two status changes' head writes
// land out of order, the head keeps the later one.
func TestHeadNeverMovesBack(t *testing.T) {
	t.Parallel()
	var fail failHeads
	c := newClient(t, fail.option)
	table := newTable(t, c)
	slow := dynamojournal.New(c, table)
	mustAppend(t, slow, startCommit("run-b"))
	mv := stepCommit("run-b", 1, `{}`)
	mv.Status = journal.StatusWaiting
	fail.on.Store(true)
	appendHeadPending(t, slow, mv) // slow owes "waiting at 2"
	fail.on.Store(false)

	fast := dynamojournal.New(c, table)
	if _, _, err := fast.Load(t.Context(), "run-b"); err != nil { // repairs to waiting at 2
		t.Fatal(err)
	}
	mv = stepCommit("run-b", 2, `{}`)
	mv.Status = journal.StatusFailed
	mustAppend(t, fast, mv)
	// The slow writer pays its debt late: the head must stay at 3.
	if _, err := slow.Append(t.Context(), stepCommit("run-b", 2, `{}`)); !errors.Is(err, journal.ErrConflict) {
		t.Fatalf("stale append: got %v, want a conflict", err)
	}
	mustAppend(t, slow, stepCommit("run-b", 3, `{}`)) // pays "waiting at 2"
	if st, seq := rawHead(t, c, table, "run-b"); st != "failed" || seq != "3" {
		t.Errorf("head: got %s at %s, want failed at 3", st, seq)
	}
}

// eventuallyListed waits for run to show up in the listing q.
func eventuallyListed(t *testing.T, s journal.Store, q journal.Query, run string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, _, err := s.Runs(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			if r.ID == run {
				return
			}
			ids = append(ids, r.ID)
		}
		if time.Now().After(deadline) {
			t.Errorf("listing %+v: got %v, want %s in it", q, ids, run)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSettledRunReachesListing fails the head write of a run's move to
// review once, and checks that the run reaches the review listing however
// the work resumes: the writer's own next read of the run (Since, as a warm
// engine catches up) or a Load from a fresh Store (a redelivered message in
// a new container).
func TestSettledRunReachesListing(t *testing.T) {
	t.Parallel()
	for _, resume := range []string{"since", "load elsewhere"} {
		t.Run(resume, func(t *testing.T) {
			t.Parallel()
			var fail failHeads
			c := newClient(t, fail.option)
			table := newTable(t, c)
			w := dynamojournal.New(c, table)
			mustAppend(t, w, startCommit("run-r"))
			mv := stepCommit("run-r", 1, `{}`)
			mv.Status = journal.StatusReview
			fail.times.Store(1)
			appendHeadPending(t, w, mv)
			if st, _ := rawHead(t, c, table, "run-r"); st != "running" {
				t.Fatalf("head after the failed write: got %q, want running", st)
			}

			var err error
			switch resume {
			case "since":
				_, err = w.Since(t.Context(), "run-r", 2)
			case "load elsewhere":
				_, _, err = dynamojournal.New(c, table).Load(t.Context(), "run-r")
			}
			if err != nil {
				t.Fatalf("%s: %v", resume, err)
			}
			eventuallyListed(t, dynamojournal.New(c, table), journal.Query{Status: journal.StatusReview}, "run-r")
		})
	}
}

// TestRepairHeads loses the head write of a run's move to review in a
// writer that then goes away, as when its message ended in a dead-letter
// queue, and checks that RepairHeads from another Store finds that lagging
// head and no other, writes it (the run reaches the review listing), and
// finds nothing more on a second pass.
func TestRepairHeads(t *testing.T) {
	t.Parallel()
	var fail failHeads
	c := newClient(t, fail.option)
	table := newTable(t, c)
	w := dynamojournal.New(c, table)
	// A healthy run, its head up to date, with commits after its status.
	mustAppend(t, w, startCommit("run-ok"))
	mustAppend(t, w, stepCommit("run-ok", 1, `{}`))
	mustAppend(t, w, stepCommit("run-ok", 2, `{}`))
	mustAppend(t, w, startCommit("run-dlq"))
	mv := stepCommit("run-dlq", 1, `{}`)
	mv.Status = journal.StatusReview
	fail.times.Store(1)
	appendHeadPending(t, dynamojournal.New(c, table), mv)
	if st, _ := rawHead(t, c, table, "run-dlq"); st != "running" {
		t.Fatalf("head of run-dlq before the repair: %q, want running", st)
	}

	r := dynamojournal.New(c, table)
	var n int
	for deadline := time.Now().Add(10 * time.Second); n == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if n, err = r.RepairHeads(t.Context()); err != nil { // the index may lag the head it lists
			t.Fatal(err)
		}
	}
	if n != 1 {
		t.Fatalf("repaired %d heads, want 1", n)
	}
	if st, seq := rawHead(t, c, table, "run-dlq"); st != "review" || seq != "2" {
		t.Errorf("head of run-dlq after the repair: %s at %s, want review at 2", st, seq)
	}
	eventuallyListed(t, r, journal.Query{Status: journal.StatusReview}, "run-dlq")
	// The index catches up; then nothing lags.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n, err := r.RepairHeads(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second pass still repairs %d heads", n)
		}
	}
}
