package sqlitejournal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/ordoflow/ordo/journal"
)

// ErrClosed is returned by a Store's methods after Close.
var ErrClosed = errors.New("sqlitejournal: store closed")

var _ journal.Store = (*Store)(nil)

// Store is a journal.Store backed by one SQLite file. It is safe for
// concurrent use. One Store at a time writes to a file: it holds an
// exclusive lock on the file for its life, and a second New on the same
// file, in any process, fails with ErrLocked naming the holder. Stores
// opened with ReadOnly take no lock and may read alongside the writer.
type Store struct {
	wdb *sql.DB // the writer's connection (exactly one)
	rdb *sql.DB // readers; the same as wdb for ":memory:"

	// Writer statements, prepared on wdb.
	insRun, insCommit, updStatus *sql.Stmt
	// Reader statements, prepared on rdb.
	selHead, selCommits *sql.Stmt

	opts options
	now  func() time.Time
	lock *writerLock // nil for read-only and in-memory stores

	mu     sync.RWMutex // guards closed and sends on reqs
	closed bool
	reqs   chan *appendReq
	done   chan struct{} // closed when the writer goroutine exits
	// committing is how long the writer's last transaction took to
	// commit (the WAL write and fsync); only the writer uses it.
	committing time.Duration
}

type options struct {
	busyTimeout   time.Duration
	maxBatch      int
	maxCommitSize int
	readConns     int
	readOnly      bool
	faultHook     func(Fault) error // WithFaultHook
	maxGather     time.Duration     // see gatherer
}

// Option configures a Store.
type Option func(*options)

// WithBusyTimeout sets how long a connection waits for a lock another
// connection or process holds before failing (default 10s).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithMaxBatch caps how many appends the writer puts in one transaction
// (default 256). 1 disables group commit.
func WithMaxBatch(n int) Option {
	return func(o *options) { o.maxBatch = max(n, 1) }
}

// WithMaxCommitSize caps the encoded size of a commit's events, in bytes;
// larger commits fail with journal.ErrTooLarge (default 16 MiB).
func WithMaxCommitSize(n int) Option {
	return func(o *options) { o.maxCommitSize = n }
}

// WithReadConns sets the size of the read connection pool (default
// GOMAXPROCS, at least 4). It does not apply to ":memory:" databases, which
// have a single connection.
func WithReadConns(n int) Option {
	return func(o *options) { o.readConns = max(n, 1) }
}

// ReadOnly opens the journal for reading only: New takes no writer lock,
// creates and migrates nothing, and fails if the file does not exist.
// Append and PutDefinition return ErrReadOnly. A read-only Store reads
// what the writer has committed (WAL lets readers run beside a writer),
// which is what commands that only inspect a journal need while another
// process writes to it.
func ReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}

// New opens (creating if needed) the journal in the SQLite file at path and
// starts its writer. Path ":memory:" gives a private in-memory database,
// for tests. Call Close to stop the writer and close the file.
func New(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{
		busyTimeout:   10 * time.Second,
		maxBatch:      256,
		maxCommitSize: 16 << 20,
		readConns:     max(runtime.GOMAXPROCS(0), 4),
		maxGather:     maxGather,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlitejournal: open: invalid path %q", path)
	}
	open := openWriter
	if o.readOnly {
		open = openReader
	}
	s, err := open(ctx, path, o)
	if err != nil {
		return nil, fmt.Errorf("sqlitejournal: open %s: %w", path, err)
	}
	return s, nil
}

func openWriter(ctx context.Context, path string, o options) (s *Store, err error) {
	memory := path == ":memory:"
	var lock *writerLock
	if !memory {
		if lock, err = acquireLock(path); err != nil {
			return nil, err
		}
		if err = createPrivate(path); err != nil {
			lock.release()
			return nil, err
		}
		defer func() {
			if err != nil {
				lock.release()
			}
		}()
	}
	busy := fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds())

	w := url.Values{}
	w.Add("_pragma", busy)
	if !memory {
		w.Add("_pragma", "journal_mode(WAL)")
	}
	w.Add("_pragma", "synchronous(FULL)")
	w.Add("_txlock", "immediate")
	s = &Store{
		opts: o,
		now:  time.Now,
		lock: lock,
		reqs: make(chan *appendReq, o.maxBatch),
		done: make(chan struct{}),
	}
	if s.wdb, err = sql.Open("sqlite", path+"?"+w.Encode()); err != nil {
		return nil, err
	}
	opened := s // the error returns below set s to nil
	defer func() {
		if err != nil {
			opened.closeDBs()
		}
	}()
	// One writer connection, kept open for the life of the Store (an
	// in-memory database lives only as long as its connection).
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx, memory); err != nil {
		return nil, err
	}

	s.rdb = s.wdb
	if !memory {
		if s.rdb, err = openReadPool(path, o); err != nil {
			return nil, err
		}
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	go s.writeLoop()
	return s, nil
}

// openReader opens an existing journal for reading only, without the
// writer lock.
func openReader(ctx context.Context, path string, o options) (s *Store, err error) {
	if path == ":memory:" {
		return nil, fmt.Errorf("a read-only in-memory journal would always be empty: %w", ErrReadOnly)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	s = &Store{opts: o, now: time.Now, done: make(chan struct{})}
	close(s.done) // no writer
	if s.rdb, err = openReadPool(path, o); err != nil {
		return nil, err
	}
	opened := s // the error returns below set s to nil
	defer func() {
		if err != nil {
			opened.closeDBs()
		}
	}()
	var version int
	if err := s.rdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return nil, err
	}
	if version != schemaVersion {
		return nil, fmt.Errorf("schema version %d, this build reads %d (open it once for writing to migrate)", version, schemaVersion)
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// openReadPool opens the pool of query-only connections to path.
func openReadPool(path string, o options) (*sql.DB, error) {
	r := url.Values{}
	r.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()))
	r.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", path+"?"+r.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(o.readConns)
	db.SetMaxIdleConns(o.readConns)
	return db, nil
}

// schemaVersion is stored in PRAGMA user_version. 2 added the internal
// streams and review items (streamSchema), 3 the snapshots table
// (snapshotSchema), 4 the trigger commits_follow, with which the head's seq
// moves only when its status does (a build of version 3 would read such a
// head as corrupt). Opening an older file for writing creates them.
const schemaVersion = 4

var schema = []string{
	`CREATE TABLE IF NOT EXISTS runs (
		id       TEXT PRIMARY KEY,
		workflow TEXT NOT NULL,
		def_hash TEXT NOT NULL,
		status   TEXT NOT NULL,
		seq      INTEGER NOT NULL,
		created  INTEGER NOT NULL,
		updated  INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS runs_by_updated ON runs (updated DESC, id DESC)`,
	`CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow, updated DESC, id DESC)`,
	`CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, updated DESC, id DESC)`,
	`CREATE INDEX IF NOT EXISTS runs_by_workflow_status ON runs (workflow, status, updated DESC, id DESC)`,
	`CREATE TABLE IF NOT EXISTS commits (
		run    TEXT NOT NULL,
		seq    INTEGER NOT NULL,
		at     INTEGER NOT NULL,
		events BLOB NOT NULL,
		PRIMARY KEY (run, seq)
	)`,
	// A commit goes in only after the one before it: with the primary key,
	// an append lands in the slot after the run's last commit or nowhere.
	`CREATE TRIGGER IF NOT EXISTS commits_follow BEFORE INSERT ON commits
		WHEN NEW.seq > 1 AND NOT EXISTS (SELECT 1 FROM commits WHERE run = NEW.run AND seq = NEW.seq - 1)
		BEGIN SELECT RAISE(IGNORE); END`,
	`CREATE TABLE IF NOT EXISTS definitions (
		hash    TEXT PRIMARY KEY,
		name    TEXT NOT NULL,
		version TEXT NOT NULL,
		json    BLOB NOT NULL,
		created INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS definitions_by_name ON definitions (name, created DESC, hash DESC)`,
	`CREATE INDEX IF NOT EXISTS definitions_by_created ON definitions (created DESC, hash DESC)`,
}

func (s *Store) migrate(ctx context.Context, memory bool) error {
	if !memory {
		var mode string
		if err := s.wdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return err
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("journal_mode is %q, not wal", mode)
		}
	}
	var version int
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this build's %d", version, schemaVersion)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range slices.Concat(schema, streamSchema, snapshotSchema) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) prepare(ctx context.Context) error {
	stmts := []struct {
		db *sql.DB
		to **sql.Stmt
		q  string
	}{
		{s.wdb, &s.insRun, `INSERT INTO runs (id, workflow, def_hash, status, seq, created, updated)
			VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5) ON CONFLICT (id) DO NOTHING`},
		// Inserts nothing if the slot is taken, or if the commit before it
		// is missing (trigger commits_follow).
		{s.wdb, &s.insCommit, `INSERT INTO commits (run, seq, at, events) VALUES (?1, ?2, ?3, ?4)
			ON CONFLICT (run, seq) DO NOTHING`},
		{s.wdb, &s.updStatus, `UPDATE runs SET seq = ?2, status = ?3, updated = ?4 WHERE id = ?1`},
		{s.rdb, &s.selHead, `SELECT workflow, def_hash, status, seq, created, updated FROM runs WHERE id = ?1`},
		{s.rdb, &s.selCommits, `SELECT seq, events FROM commits WHERE run = ?1 ORDER BY seq`},
	}
	for _, st := range stmts {
		if st.db == nil { // read-only: no writer statements
			continue
		}
		p, err := st.db.PrepareContext(ctx, st.q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", st.q, err)
		}
		*st.to = p
	}
	return nil
}

// Close waits for queued appends to finish, stops the writer and closes the
// database. Appends racing with Close either complete or return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.reqs != nil {
		close(s.reqs)
	}
	s.mu.Unlock()
	<-s.done
	err := s.closeDBs()
	if s.lock != nil {
		err = errors.Join(err, s.lock.release())
	}
	if err != nil {
		return fmt.Errorf("sqlitejournal: close: %w", err)
	}
	return nil
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.insRun, s.insCommit, s.updStatus, s.selHead, s.selCommits} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.rdb != nil && s.rdb != s.wdb {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

// nanos and fromNanos convert times to the stored form.
func nanos(t time.Time) int64     { return t.UnixNano() }
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
