package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Internal streams are the journal's records that are not runs: deferral
// queues (an ordered log per deferred key) and review items (a trigger
// that could not be decoded, an effect that failed for good). They live in
// a key space of their own: Store.Load, Store.Runs and the run indexes
// never see them, and a stream may share its name with a run.

// Streams is the port of ordered internal logs. Each stream is an
// append-only sequence of commits numbered 1, 2, 3, ..., with the same
// optimistic concurrency as a run's journal, and no head or status.
type Streams interface {
	// AppendStream appends events to stream as one commit expected to
	// follow sequence after (0 for a new stream), or fails with
	// ErrConflict (wrapped) when after is not the stream's last sequence.
	// It returns the new sequence.
	AppendStream(ctx context.Context, stream string, after int64, events []Event) (int64, error)
	// ReadStream returns the stream's events in order, each with its
	// commit's Seq, strongly consistent. An unknown stream has none.
	ReadStream(ctx context.Context, stream string) ([]Event, error)
}

// ValidateStreamAppend reports what makes an append to a stream impossible
// on any backend: no stream name, no events, or a negative after.
func ValidateStreamAppend(stream string, after int64, events []Event) error {
	switch {
	case stream == "":
		return errors.New("stream append has no stream name")
	case len(events) == 0:
		return errors.New("stream append has no events")
	case after < 0:
		return fmt.Errorf("after %d: %w", after, ErrConflict)
	}
	return nil
}

// ReviewKind says what a review item is about. Persisted: never rename one.
type ReviewKind string

// Review item kinds.
const (
	// ReviewMalformedTrigger: a message on a trigger channel that names no
	// workflow, does not decode or cannot start a run. Payload is its body.
	ReviewMalformedTrigger ReviewKind = "malformed-trigger"
	// ReviewFailedEffect: an effect that failed on its last delivery
	// before the effects DLQ. Payload is the effect (a journal.Effect).
	ReviewFailedEffect ReviewKind = "failed-effect"
)

// ReviewKinds lists every review item kind.
var ReviewKinds = []ReviewKind{ReviewMalformedTrigger, ReviewFailedEffect}

// Review resolutions. Persisted: never rename one.
const (
	ResolutionDiscarded    = "discarded"    // a malformed trigger dropped by an operator
	ResolutionResubmitted  = "resubmitted"  // a malformed trigger processed again (maybe edited)
	ResolutionRedispatched = "redispatched" // a failed effect sent to the effects queue again
)

// ReviewItem is something that needs an operator and is not a run.
type ReviewItem struct {
	// ID is "<kind>/<source id>", stable across redeliveries: the trigger's
	// id ("sqs:<message id>") or the effect's id.
	ID      string          `json:"id"`
	Kind    ReviewKind      `json:"kind"`
	Reason  string          `json:"reason"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// Source is the channel of a trigger ("sqs:orders").
	Source string `json:"source,omitempty"`
	// Run is the run a failed effect belongs to.
	Run     string    `json:"run,omitempty"`
	Created time.Time `json:"created"`
	// Resolution is nil while the item is open.
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Resolution records how an operator closed a review item.
type Resolution struct {
	Action string    `json:"action"` // one of the Resolution* constants
	By     string    `json:"by,omitempty"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// ReviewID is the id of the review item of kind about source.
func ReviewID(kind ReviewKind, source string) string { return string(kind) + "/" + source }

// Validate reports what makes it impossible to store it.
func (it ReviewItem) Validate() error {
	known := false
	for _, k := range ReviewKinds {
		known = known || k == it.Kind
	}
	switch {
	case !known:
		return fmt.Errorf("review item %q: unknown kind %q", it.ID, it.Kind)
	case !strings.HasPrefix(it.ID, string(it.Kind)+"/") || len(it.ID) == len(it.Kind)+1:
		return fmt.Errorf("review item %q: id must be %q and a source id", it.ID, string(it.Kind)+"/")
	case it.Created.IsZero():
		return fmt.Errorf("review item %q: no creation time", it.ID)
	}
	return nil
}

// ReviewQuery selects review items. Zero fields do not filter.
type ReviewQuery struct {
	Kind ReviewKind
	// Resolved lists resolved items instead of open ones.
	Resolved bool
	// Limit caps the page (0: backend default, at least 100).
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// Reviews is the port of the review queue of things that are not runs.
type Reviews interface {
	// PutReview stores it, open. An open item with its id is left as it is
	// (a redelivery) and created is false; a resolved one is reopened with
	// it (the same trigger or effect failed again).
	PutReview(ctx context.Context, it ReviewItem) (created bool, err error)
	// Review returns the item with id, or ErrNotFound.
	Review(ctx context.Context, id string) (ReviewItem, error)
	// Reviews lists items matching q, oldest first, and a cursor for the
	// next page ("" when done). Listings may lag behind writes.
	Reviews(ctx context.Context, q ReviewQuery) ([]ReviewItem, string, error)
	// ResolveReview closes the open item id with r and returns it:
	// ErrNotFound if there is none, ErrConflict if it is resolved already.
	ResolveReview(ctx context.Context, id string, r Resolution) (ReviewItem, error)
}
