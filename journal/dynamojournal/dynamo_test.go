package dynamojournal_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/journal/journaltest"
)

// newClient returns a DynamoDB Local client, or skips (see dynamotest).
func newClient(tb testing.TB, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamotest.Client(tb, opts...)
}

// newTable creates a fresh table, dropped when tb ends.
func newTable(tb testing.TB, c *dynamodb.Client) string { return dynamotest.Table(tb, c) }

// newStore returns a Store on a fresh table.
func newStore(tb testing.TB, opts ...dynamojournal.Option) (*dynamojournal.Store, *dynamodb.Client, string) {
	tb.Helper()
	c := newClient(tb)
	table := newTable(tb, c)
	return dynamojournal.New(c, table, opts...), c, table
}

func TestConformance(t *testing.T) {
	newClient(t) // skip the whole suite at once without the stack
	journaltest.Run(t, func(t *testing.T) journal.Store {
		s, _, _ := newStore(t)
		return s
	})
}

// calls counts DynamoDB operations by name.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				c.mu.Lock()
				if c.n == nil {
					c.n = map[string]int{}
				}
				c.n[awsmiddleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func (c *calls) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func startCommit(run string) journal.Commit {
	return journal.Commit{Run: run, Workflow: "order", DefHash: "sha256:order", Status: journal.StatusRunning, At: t0,
		Events: []journal.Event{{Kind: journal.RunStarted, At: t0, Workflow: "order", DefHash: "sha256:order"}}}
}

func stepCommit(run string, after int64, output string) journal.Commit {
	at := t0.Add(time.Duration(after) * time.Second)
	return journal.Commit{Run: run, After: after, At: at, Events: []journal.Event{
		{Kind: journal.StepSucceeded, At: at, Step: "charge", Attempt: 1, Output: json.RawMessage(output)},
		{Kind: journal.StepScheduled, At: at, Step: "ship", Attempt: 1},
	}}
}

func mustAppend(t *testing.T, s journal.Store, c journal.Commit) int64 {
	t.Helper()
	seq, err := s.Append(t.Context(), c)
	if err != nil {
		t.Fatalf("append %s after %d: %v", c.Run, c.After, err)
	}
	return seq
}

// TestOneWritePerStep checks the cost model: a step transition that leaves
// the status alone is one PutItem and nothing else; a start or a status
// change is one PutItem of the commit and one UpdateItem of the head, and
// no transaction.
func TestOneWritePerStep(t *testing.T) {
	t.Parallel()
	var n calls
	c := newClient(t, n.option)
	s := dynamojournal.New(c, newTable(t, c))
	// A Store's first head write records its shard count first (one
	// UpdateItem, once per Store; see TestShardCountChange).
	mustAppend(t, s, startCommit("run-0"))
	n.take()
	mustAppend(t, s, startCommit("run-1"))
	if got, want := n.take(), map[string]int{"PutItem": 1, "UpdateItem": 1}; !cmp.Equal(got, want) {
		t.Errorf("start: got calls %v, want %v", got, want)
	}
	mustAppend(t, s, stepCommit("run-1", 1, `{"ok":true}`))
	if got, want := n.take(), map[string]int{"PutItem": 1}; !cmp.Equal(got, want) {
		t.Errorf("step after a start: got calls %v, want %v", got, want)
	}
	head, _, err := s.Load(t.Context(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	n.take()
	mustAppend(t, s, stepCommit("run-1", head.Seq, `{"ok":true}`))
	if got, want := n.take(), map[string]int{"PutItem": 1}; !cmp.Equal(got, want) {
		t.Errorf("step after a load: got calls %v, want %v", got, want)
	}
	mv := stepCommit("run-1", 3, `{}`)
	mv.Status = journal.StatusWaiting
	mustAppend(t, s, mv)
	if got, want := n.take(), map[string]int{"PutItem": 1, "UpdateItem": 1}; !cmp.Equal(got, want) {
		t.Errorf("status change: got calls %v, want %v", got, want)
	}
	// Loading a run whose head is up to date writes nothing.
	if _, _, err := s.Load(t.Context(), "run-1"); err != nil {
		t.Fatal(err)
	}
	if got, want := n.take(), map[string]int{"Query": 1}; !cmp.Equal(got, want) {
		t.Errorf("load: got calls %v, want %v", got, want)
	}
}

// TestColdAppend checks that a Store that has not loaded the run reads
// the key of c.After once before its put, and rejects an After beyond the
// run's last commit.
func TestColdAppend(t *testing.T) {
	t.Parallel()
	var n calls
	c := newClient(t, n.option)
	table := newTable(t, c)
	warm := dynamojournal.New(c, table)
	mustAppend(t, warm, startCommit("run-1"))
	mustAppend(t, warm, stepCommit("run-1", 1, `{}`))

	cold := dynamojournal.New(c, table)
	n.take()
	if seq := mustAppend(t, cold, stepCommit("run-1", 2, `{}`)); seq != 3 {
		t.Errorf("got seq %d, want 3", seq)
	}
	if got, want := n.take(), map[string]int{"GetItem": 1, "PutItem": 1}; !cmp.Equal(got, want) {
		t.Errorf("cold step: got calls %v, want %v", got, want)
	}
	_, err := dynamojournal.New(c, table).Append(t.Context(), stepCommit("run-1", 7, `{}`))
	if !errors.Is(err, journal.ErrConflict) || !strings.Contains(err.Error(), "run-1") {
		t.Errorf("append after 7 of 3: got %v, want a conflict naming run-1", err)
	}
	// A cold status change reads the key of After too.
	mv := stepCommit("run-1", 9, `{}`)
	mv.Status = journal.StatusReview
	if _, err := dynamojournal.New(c, table).Append(t.Context(), mv); !errors.Is(err, journal.ErrConflict) {
		t.Errorf("status change after 9 of 3: got %v, want a conflict", err)
	}
	mv.After = 3
	n.take()
	if seq := mustAppend(t, dynamojournal.New(c, table), mv); seq != 4 {
		t.Errorf("status change: got seq %d, want 4", seq)
	}
	// UpdateItem: the shard count record (once per Store), and the head.
	if got, want := n.take(), map[string]int{"GetItem": 1, "PutItem": 1, "UpdateItem": 2}; !cmp.Equal(got, want) {
		t.Errorf("cold status change: got calls %v, want %v", got, want)
	}
	// The warm store (which last saw seq 2) loses to the cold one.
	_, err = warm.Append(t.Context(), stepCommit("run-1", 2, `{}`))
	if !errors.Is(err, journal.ErrConflict) {
		t.Errorf("stale append: got %v, want a conflict", err)
	}
}

// incompressible returns n bytes of base64 text that gzip cannot shrink
// much.
func incompressible(n int) string {
	b := make([]byte, n*3/4+3)
	rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)[:n]
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	mustAppend(t, s, startCommit("run-big"))
	c := stepCommit("run-big", 1, `{"blob":"`+incompressible(600<<10)+`"}`)
	_, err := s.Append(t.Context(), c)
	if !errors.Is(err, journal.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	for _, want := range []string{"run-big", "charge", "ship"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	head, events, err := s.Load(t.Context(), "run-big")
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 1 || len(events) != 1 {
		t.Errorf("got seq %d and %d events, want 1 and 1", head.Seq, len(events))
	}
}

// TestItemSizeAccounting writes uncompressed commits right at the size
// limit: the largest the Store accepts must be accepted by DynamoDB, one
// byte more is ErrTooLarge from the Store.
func TestItemSizeAccounting(t *testing.T) {
	t.Parallel()
	s, db, table := newStore(t, dynamojournal.WithCompressAbove(1<<30))
	mustAppend(t, s, startCommit("run-edge"))

	// Find the padding that makes the item exactly MaxItemSize bytes: the
	// Store's error says how large the item of a too large commit is.
	pad := dynamojournal.MaxItemSize
	_, err := s.Append(t.Context(), stepCommit("run-edge", 1, `{"p":"`+strings.Repeat("x", pad)+`"}`))
	var size int
	if _, scanErr := fmt.Sscanf(errSize(err), "%d", &size); !errors.Is(err, journal.ErrTooLarge) || scanErr != nil {
		t.Fatalf("append of %d bytes: got %v, want ErrTooLarge naming the item size", pad, err)
	}
	pad -= size - dynamojournal.MaxItemSize
	c := stepCommit("run-edge", 1, `{"p":"`+strings.Repeat("x", pad)+`"}`)
	if _, err := s.Append(t.Context(), c); err != nil {
		t.Fatalf("append of a %d-byte item: %v", dynamojournal.MaxItemSize, err)
	}
	_, events, err := s.Load(t.Context(), "run-edge")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(events[1:], withSeq(2, c.Events)); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	// DynamoDB agrees: the same item one byte larger is refused.
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "RUN#run-edge"},
		"sk": &types.AttributeValueMemberS{Value: "0000000000000000002"},
	}
	got, err := db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: &table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	item := got.Item
	item["ev"] = &types.AttributeValueMemberB{Value: append(item["ev"].(*types.AttributeValueMemberB).Value, ' ')}
	item["sk"] = &types.AttributeValueMemberS{Value: "0000000000000000009"}
	_, err = db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &table, Item: item})
	if err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("DynamoDB put of a %d-byte item: got %v, want a size error", dynamojournal.MaxItemSize+1, err)
	}

	c = stepCommit("run-edge", 2, `{"p":"`+strings.Repeat("x", pad+1)+`"}`)
	if _, err := s.Append(t.Context(), c); !errors.Is(err, journal.ErrTooLarge) {
		t.Errorf("append of a %d-byte item: got %v, want ErrTooLarge", dynamojournal.MaxItemSize+1, err)
	}
}

// errSize extracts the measured size from a journal.TooLargeError.
func errSize(err error) string {
	var tl *journal.TooLargeError
	if !errors.As(err, &tl) {
		return ""
	}
	return fmt.Sprint(tl.Size)
}

func withSeq(seq int64, events []journal.Event) []journal.Event {
	out := make([]journal.Event, len(events))
	for i, e := range events {
		e.Seq = seq
		out[i] = e
	}
	return out
}

// TestCompression checks that large commits are stored gzip-compressed and
// flagged, small ones as they are, and that both read back exactly.
func TestCompression(t *testing.T) {
	t.Parallel()
	s, c, table := newStore(t)
	mustAppend(t, s, startCommit("run-z"))
	var b strings.Builder
	for i := 0; b.Len() < 200<<10; i++ {
		fmt.Fprintf(&b, "line %d of a repetitive payload; ", i)
	}
	big := stepCommit("run-z", 1, `{"text":"`+b.String()+`"}`)
	small := stepCommit("run-z", 2, `{"ok":1}`)
	mustAppend(t, s, big)
	mustAppend(t, s, small)

	_, events, err := s.Load(t.Context(), "run-z")
	if err != nil {
		t.Fatal(err)
	}
	want := append(withSeq(2, big.Events), withSeq(3, small.Events)...)
	if diff := cmp.Diff(events[1:], want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}

	raw := func(sk string) map[string]types.AttributeValue {
		out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "RUN#run-z"},
				"sk": &types.AttributeValueMemberS{Value: sk},
			}})
		if err != nil || out.Item == nil {
			t.Fatalf("get %s: %v (item %v)", sk, err, out.Item)
		}
		return out.Item
	}
	item := raw("0000000000000000002")
	if z, _ := item["z"].(*types.AttributeValueMemberS); z == nil || z.Value != "gzip" {
		t.Errorf("big commit: got z %v, want gzip", item["z"])
	}
	if ev := item["ev"].(*types.AttributeValueMemberB); len(ev.Value) > b.Len()/4 {
		t.Errorf("big commit: %d bytes stored for %d of text", len(ev.Value), b.Len())
	}
	if item := raw("0000000000000000003"); item["z"] != nil {
		t.Errorf("small commit: got z %v, want none", item["z"])
	}
}

// TestRunsEveryStatus lists runs in each of the seven statuses with no
// filter (a merge of the byStatus partitions), page by page, and checks
// that a run whose status changes between two pages is listed once.
func TestRunsEveryStatus(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	all := []journal.Status{journal.StatusRunning, journal.StatusWaiting, journal.StatusReview, journal.StatusCompleted,
		journal.StatusFailed, journal.StatusCancelled, journal.StatusDeferred}
	var want []string // newest first
	for i := range 3 * len(all) {
		id := fmt.Sprintf("r%02d", i)
		c := startCommit(id)
		c.At = t0.Add(time.Duration(i) * time.Second)
		c.Status = all[(i*5)%len(all)]
		mustAppend(t, s, c)
		want = append([]string{id}, want...)
	}
	list := func(limit int, cursor string) ([]string, string) {
		t.Helper()
		runs, next, err := s.Runs(t.Context(), journal.Query{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > limit {
			t.Fatalf("limit %d: got %d runs", limit, len(runs))
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		return ids, next
	}
	for _, limit := range []int{1, 2, 3, 5, 20, 21, 100} {
		var got []string
		cursor := ""
		for pages := 0; pages == 0 || cursor != ""; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			var ids []string
			ids, cursor = list(limit, cursor)
			got = append(got, ids...)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("limit %d: ids (-got +want):\n%s", limit, diff)
		}
	}
	// Since and Until apply to every partition.
	runs, _, err := s.Runs(t.Context(), journal.Query{Since: t0.Add(5 * time.Second), Until: t0.Add(9 * time.Second), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(runs); got != 2 || runs[0].ID != "r08" || runs[1].ID != "r07" {
		t.Errorf("since until: got %v, want r08 r07", runs)
	}

	// The first page lists r20 and r19; r19 then moves from its status to
	// another, newer than every run: the next pages list neither again.
	first, cursor := list(2, "")
	mv := stepCommit("r19", 1, `{}`)
	mv.At, mv.Status = t0.Add(time.Hour), journal.StatusCancelled
	mustAppend(t, s, mv)
	got := first
	for cursor != "" {
		var ids []string
		ids, cursor = list(4, cursor)
		got = append(got, ids...)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("with a run moved after its page: ids (-got +want):\n%s", diff)
	}
	if ids, _ := list(1, ""); !cmp.Equal(ids, []string{"r19"}) {
		t.Errorf("after the move: got %v first, want r19", ids)
	}
}
