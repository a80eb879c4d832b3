package dynamojournal

import (
	"maps"
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

	// known remembers what this Store knows of each run it wrote or loaded:
	// a sequence number known to be written (commits are never deleted, so
	// the fact stays true; it lets Append skip checking that c.After
	// exists), the run's fixed head fields, and a head write still owed.
	mu    sync.Mutex
	known map[string]*runInfo

	// shard is what this Store knows of the shard count recorded in the
	// table (see registerShards and listShards).
	shardMu sync.Mutex
	shard   shardState
}

// runInfo is what a Store knows of one run.
type runInfo struct {
	seq  int64    // a commit known to be written
	meta *runMeta // the head's fixed fields, nil when unknown
	// owed is a head write that failed after its commit landed; the next
	// Append (or a Load) of the run writes it.
	owed *headState
	// status is the run's last commit that set a status among its commits
	// 1..statusUpTo, when this Store has seen them all (Load), or learnt
	// it from a snapshot and seen every commit since; statusUpTo is 0
	// when it does not know. It lets Since check the head after a
	// snapshot load as Load does.
	status     headState
	statusUpTo int64
}

// runMeta is the part of a run's head that never changes, as written in
// the run's first commit.
type runMeta struct {
	workflow, defHash string
	created           string // timeLayout
}

// headState is the part of a run's head that moves with status changes.
type headState struct {
	seq     int64 // the commit that set status
	status  string
	updated string // timeLayout: that commit's time
}

type options struct {
	compressAbove int
	maxItemSize   int
	maxCommitSize int
	s3            S3API // nil: no offload
	bucket        string
	offloadAbove  int
	shards        int
	now           func() time.Time
	knownRuns     int
}

// writeUnit is the size DynamoDB bills one write unit for.
const writeUnit = 1024

// Option configures a Store.
type Option func(*options)

// WithCompressAbove sets the size of encoded events above which Append
// tries to gzip-compress a commit (default 768 bytes, about where an item
// outgrows one 1 KB write unit). Compression is kept only when it saves
// write units, or bytes on an item over 4 KB.
func WithCompressAbove(n int) Option { return func(o *options) { o.compressAbove = n } }

// WithMaxItemSize lowers the item size above which Append fails with
// journal.ErrTooLarge (default and maximum MaxItemSize).
func WithMaxItemSize(n int) Option {
	return func(o *options) { o.maxItemSize = min(n, MaxItemSize) }
}

// WithIndexShards sets how many shards the index partition keys of run
// heads and review items are split into (default DefaultIndexShards).
// Listings query every shard, so more shards cost more reads per listing.
// It may change on a live table, either way: the table records the
// largest count any writer used, and listings read that many shards when
// it is more than n (see the package documentation, Listing).
func WithIndexShards(n int) Option { return func(o *options) { o.shards = max(n, 1) } }

// WithClock sets the clock used for commits whose At is zero (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a Store on table, which must have the schema of TableSchema.
// The client is used as given: add retry settings, endpoint overrides or
// middleware when building it.
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	o := options{compressAbove: 768, maxItemSize: MaxItemSize, maxCommitSize: MaxCommitSize,
		offloadAbove: DefaultOffloadAbove, shards: DefaultIndexShards, now: time.Now, knownRuns: 1 << 14}
	for _, opt := range opts {
		opt(&o)
	}
	return &Store{client: client, table: table, opts: o, known: map[string]*runInfo{}}
}

// knownAt reports whether seq of run is known to be written.
func (s *Store) knownAt(run string, seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.known[run]
	return r != nil && r.seq >= seq
}

// info returns the entry of run, creating it. s.mu must be held.
func (s *Store) info(run string) *runInfo {
	r := s.known[run]
	if r == nil {
		if len(s.known) >= s.opts.knownRuns {
			// A miss costs one read, never correctness. Owed head
			// writes are kept: Since pays them, and it cannot tell a
			// lagging head from the commits it reads.
			maps.DeleteFunc(s.known, func(_ string, r *runInfo) bool { return r.owed == nil })
		}
		r = &runInfo{}
		s.known[run] = r
	}
	return r
}

// remember records that seq of run is written.
func (s *Store) remember(run string, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.info(run); r.seq < seq {
		r.seq = seq
	}
}

// rememberMeta records the fixed head fields of run.
func (s *Store) rememberMeta(run string, m runMeta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.info(run).meta = &m
}

// meta returns the fixed head fields of run, or nil when unknown.
func (s *Store) meta(run string) *runMeta {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.known[run]; r != nil {
		return r.meta
	}
	return nil
}

// owe records that the head of run must still be moved to h.
func (s *Store) owe(run string, h headState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.info(run); r.owed == nil || r.owed.seq < h.seq {
		r.owed = &h
	}
}

// owed returns the head write owed for run, or nil.
func (s *Store) owed(run string) *headState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.known[run]; r != nil && r.owed != nil {
		h := *r.owed
		return &h
	}
	return nil
}

// paid records that the head of run is at seq or later.
func (s *Store) paid(run string, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.known[run]; r != nil && r.owed != nil && r.owed.seq <= seq {
		r.owed = nil
	}
}

// knowStatus records that st is the last commit of run that set a status
// among commits 1..upTo, unless the Store knows further already.
func (s *Store) knowStatus(run string, upTo int64, st headState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.info(run); r.statusUpTo < upTo {
		r.status, r.statusUpTo = st, upTo
	}
}

// sawCommit records commit seq of run (status "" when it sets none): it
// extends what the Store knows of the run's last status when it knew every
// commit before seq.
func (s *Store) sawCommit(run string, seq int64, status, at string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.known[run]
	if r == nil || r.statusUpTo != seq-1 || r.statusUpTo == 0 {
		return
	}
	r.statusUpTo = seq
	if status != "" {
		r.status = headState{seq: seq, status: status, updated: at}
	}
}

// statusAt returns the last commit of run that set a status among commits
// 1..seq, when the Store knows it.
func (s *Store) statusAt(run string, seq int64) (headState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.known[run]
	if r == nil || r.statusUpTo < seq || r.status.seq > seq || r.status.seq == 0 {
		return headState{}, false
	}
	return r.status, true
}
