package journal

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; see the package documentation for when each is returned.
var (
	ErrNotFound = errors.New("journal: not found")
	ErrConflict = errors.New("journal: sequence conflict")
	ErrTooLarge = errors.New("journal: commit too large")
	// ErrBadCursor is returned by Runs for a cursor it did not hand out.
	ErrBadCursor = errors.New("journal: invalid cursor")
)

// Status is a run's coarse state, kept on the run's head so runs can be
// listed without reading their events.
type Status string

// Run statuses. Persisted: never rename one.
const (
	StatusRunning   Status = "running"
	StatusWaiting   Status = "waiting"
	StatusReview    Status = "review"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
	StatusDeferred  Status = "deferred"
)

// Terminal reports whether a run in this status will make no more progress
// on its own.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Run is a run's head: what listing needs without loading events.
type Run struct {
	ID       string    `json:"id"`
	Workflow string    `json:"workflow"`
	DefHash  string    `json:"defHash"`
	Status   Status    `json:"status"`
	Seq      int64     `json:"seq"` // last commit; for listings it may lag
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"` // last status change
}

// Commit is one atomic append.
type Commit struct {
	Run string
	// After is the sequence number the commit expects to follow: 0 for the
	// first commit of a new run, else the last Seq the writer loaded.
	After  int64
	Events []Event
	// Status, when set, moves the run's head to this status in the same
	// write. Leave it empty on commits that do not change the status.
	Status Status
	// Workflow and DefHash are required on the first commit (After == 0).
	Workflow string
	DefHash  string
	// At is the commit time (head's Created/Updated).
	At time.Time
}

// Validate reports what makes c impossible to append, whatever the
// backend: no run id, no events, a negative After (a conflict), or a first
// commit that does not name its workflow and definition.
func (c Commit) Validate() error {
	switch {
	case c.Run == "":
		return errors.New("commit has no run id")
	case len(c.Events) == 0:
		return errors.New("commit has no events")
	case c.After < 0:
		return fmt.Errorf("after %d: %w", c.After, ErrConflict)
	case c.After == 0 && (c.Workflow == "" || c.DefHash == ""):
		return errors.New("first commit needs Workflow and DefHash")
	}
	return nil
}

// Query selects runs for listing. Zero fields do not filter.
type Query struct {
	Workflow string
	Status   Status
	// Since/Until bound the head's Updated time.
	Since, Until time.Time
	// Limit caps the page (0: backend default, at least 100).
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// Definition is a stored workflow definition: canonical JSON by content hash.
type Definition struct {
	Hash    string    `json:"hash"`
	Name    string    `json:"name"`
	Version string    `json:"version"`
	JSON    []byte    `json:"json"`
	Created time.Time `json:"created"`
}

// Store is the journal port.
type Store interface {
	// Load returns the run's head and all its events in order. It reads its
	// own writes (strongly consistent). ErrNotFound if the run does not exist.
	Load(ctx context.Context, run string) (Run, []Event, error)
	// Since returns the events of run's commits after sequence after, in
	// order, strongly consistent: how a holder of a run's state catches up
	// without reloading the whole journal. It returns no events (and no
	// error) when nothing follows after, including for unknown runs.
	Since(ctx context.Context, run string, after int64) ([]Event, error)
	// Append writes c atomically, or fails with ErrConflict (wrapped) if
	// c.After is not the run's last sequence. It returns the new sequence.
	Append(ctx context.Context, c Commit) (int64, error)
	// Runs lists run heads matching q, most recently updated first, and a
	// cursor for the next page ("" when done).
	Runs(ctx context.Context, q Query) ([]Run, string, error)
	// PutDefinition stores d by its hash; storing the same hash again is a
	// no-op.
	PutDefinition(ctx context.Context, d Definition) error
	// Definition returns a stored definition, or ErrNotFound.
	Definition(ctx context.Context, hash string) (Definition, error)
	// Definitions lists stored definitions, newest first, optionally only
	// those named name.
	Definitions(ctx context.Context, name string) ([]Definition, error)
}
