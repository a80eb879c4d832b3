package dynamojournal_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// lostResponse is a retryable error standing in for a response lost after
// DynamoDB applied the request.
type lostResponse struct{}

func (lostResponse) Error() string        { return "response lost (test)" }
func (lostResponse) RetryableError() bool { return true }

// loseFirstResponse makes the first attempt of each operation named in ops
// reach DynamoDB and then fail as if its response were lost, so that the
// SDK retries a write that has landed. attempts counts attempts by
// operation.
type loseFirstResponse struct {
	mu       sync.Mutex
	ops      map[string]bool
	attempts map[string]int
}

func (l *loseFirstResponse) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("loseFirstResponse",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
				middleware.FinalizeOutput, middleware.Metadata, error,
			) {
				out, md, err := next.HandleFinalize(ctx, in)
				op := awsmiddleware.GetOperationName(ctx)
				l.mu.Lock()
				defer l.mu.Unlock()
				l.attempts[op]++
				if err == nil && l.ops[op] {
					delete(l.ops, op)
					return out, md, lostResponse{}
				}
				return out, md, err
			}), "Retry", middleware.After)
	})
}

// TestRetriedWriteIsNotAConflict checks that an append whose first attempt
// landed but whose response was lost succeeds on the SDK's retry instead of
// conflicting with itself: a commit's PutItem recognises its own item by
// its token, and the head's UpdateItem finds the head already where it
// moves it, which is no error.
func TestRetriedWriteIsNotAConflict(t *testing.T) {
	t.Parallel()
	l := &loseFirstResponse{ops: map[string]bool{}, attempts: map[string]int{}}
	c := newClient(t, l.option)
	s := dynamojournal.New(c, newTable(t, c))
	// The Store's first head write records its shard count first, once.
	mustAppend(t, s, startCommit("run-warm"))
	l.mu.Lock()
	l.ops["PutItem"], l.ops["UpdateItem"], l.attempts = true, true, map[string]int{}
	l.mu.Unlock()

	if seq := mustAppend(t, s, startCommit("run-r")); seq != 1 {
		t.Errorf("start: got seq %d, want 1", seq)
	}
	l.mu.Lock()
	l.ops["PutItem"] = true
	l.mu.Unlock()
	if seq := mustAppend(t, s, stepCommit("run-r", 1, `{"n":1}`)); seq != 2 {
		t.Errorf("step: got seq %d, want 2", seq)
	}
	l.mu.Lock()
	if l.attempts["PutItem"] != 4 || l.attempts["UpdateItem"] != 2 {
		t.Errorf("got attempts %v, want 4 PutItem and 2 UpdateItem (the test did not lose a response)", l.attempts)
	}
	l.mu.Unlock()

	head, events, err := s.Load(t.Context(), "run-r")
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 2 || len(events) != 3 || head.Status != journal.StatusRunning || head.Workflow != "order" {
		t.Errorf("got head %+v and %d events, want seq 2, running, workflow order, 3 events", head, len(events))
	}
	// Another writer's append at the same sequence still conflicts.
	if _, err := s.Append(t.Context(), stepCommit("run-r", 1, `{"n":2}`)); !errors.Is(err, journal.ErrConflict) {
		t.Errorf("a different commit after 1: got %v, want a conflict", err)
	}
}
