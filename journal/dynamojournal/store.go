package dynamojournal

import (
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordoflow/ordo/journal"
)

var _ journal.Store = (*Store)(nil)

// MaxItemSize is DynamoDB's item size limit (400 KB, attribute names
// included). A commit whose item would exceed it fails with
// journal.ErrTooLarge.
const MaxItemSize = 400 << 10

// Store is a journal.Store on one DynamoDB table. It is safe for concurrent
// use.
type Store struct {
	client *dynamodb.Client
	table  string
	opts   options

	// known remembers, per run, a sequence number known to be written.
	// Commits are never deleted, so the fact stays true; it lets Append
	// skip checking that c.After exists (see Append).
	mu    sync.Mutex
	known map[string]int64
}

type options struct {
	compressAbove int
	maxItemSize   int
	now           func() time.Time
	knownRuns     int
}

// Option configures a Store.
type Option func(*options)

// WithCompressAbove sets the size of encoded events above which a commit is
// gzip-compressed (default 4096 bytes). Compression is kept only when it
// makes the commit smaller.
func WithCompressAbove(n int) Option { return func(o *options) { o.compressAbove = n } }

// WithMaxItemSize lowers the item size above which Append fails with
// journal.ErrTooLarge (default and maximum MaxItemSize).
func WithMaxItemSize(n int) Option {
	return func(o *options) { o.maxItemSize = min(n, MaxItemSize) }
}

// WithClock sets the clock used for commits whose At is zero (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Store on table, which must have the schema of TableSchema.
// The client is used as given: add retry settings, endpoint overrides or
// middleware when building it.
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	o := options{compressAbove: 4096, maxItemSize: MaxItemSize, now: time.Now, knownRuns: 1 << 14}
	for _, opt := range opts {
		opt(&o)
	}
	return &Store{client: client, table: table, opts: o, known: map[string]int64{}}
}

// knownAt reports whether seq of run is known to be written.
func (s *Store) knownAt(run string, seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known[run] >= seq
}

// remember records that seq of run is written.
func (s *Store) remember(run string, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known[run] >= seq {
		return
	}
	if len(s.known) >= s.opts.knownRuns {
		clear(s.known) // a miss costs one read, never correctness
	}
	s.known[run] = seq
}
