// Package sqlitejournal is the embedded journal.Store: one SQLite file
// (pure Go, modernc.org/sqlite), the default for `ordo dev` and for tests
// without AWS. It passes the journaltest conformance suite.
//
// # Durability and throughput
//
// The database runs in WAL mode with synchronous=FULL: an Append returns
// only after its transaction is committed and fsynced. To keep one fsync per
// commit from capping throughput, appends go through a single writer
// goroutine that does group commit: it takes every append queued while the
// previous transaction was being written (up to WithMaxBatch), checks and
// writes each one inside one transaction, commits once, and then answers
// each caller. A commit that conflicts fails alone with journal.ErrConflict;
// the others in its batch are unaffected. Reads go through a separate pool
// of connections, which WAL lets run alongside the writer.
//
// An Append whose context is done before the writer reaches it writes
// nothing and returns the context's error. Once the writer has started on
// it, the caller waits for the outcome, so a nil error always means the
// commit is durable and an error always means it was not written.
//
// Tests inject faults inside a group commit with WithFaultHook: in the
// middle of a batch's transaction (it rolls back; every caller of the
// batch gets the fault and may retry as is) or after it committed, before
// the callers are answered (a process dying there).
//
// # One writer per file
//
// A writing Store holds an exclusive lock on its file for its whole life: an
// advisory lock (flock) on a lock file beside the database (path + ".lock"),
// which also records the holder's pid and command line. A second writer, in
// another process or in this one, fails at New with a *LockedError (matching
// ErrLocked) that names the holder and says how to proceed. The operating
// system drops the lock when its holder exits, however it exits, so a
// crashed writer never leaves the file locked. Two writers on one file
// would each drive the same runs and run their steps and effects twice;
// the lock rules that out.
//
// A Store opened with ReadOnly takes no lock, writes nothing and reads
// what the writer commits, alongside it: that is how commands that only
// inspect a journal (listing runs, showing one) work while a server writes.
//
// # Schema
//
// The file holds three tables, readable with the sqlite3 shell:
//
//	runs(id, workflow, def_hash, status, seq, created, updated)  -- run heads
//	commits(run, seq, at, events)                                -- the journal
//	definitions(hash, name, version, json, created)
//
// Times are Unix nanoseconds (try datetime(updated/1e9, 'unixepoch')).
// events is a BLOB holding the commit's events as a JSON array, encoded by
// journal.EncodeEvents; read it with json_extract(CAST(events AS TEXT), ...).
// The head's status, updated and seq move only when a commit sets a
// status (seq is then that commit's); a run's last commit is the highest
// seq in commits, which Load and Runs report as the run's Seq. A commit
// that does not change the status is therefore one insert: it goes in only
// if the commit it follows exists and its own slot is free.
//
// # Errors
//
// Errors name the operation and the run, e.g.
// "sqlitejournal: append run-1: ...: journal: sequence conflict", and wrap
// the journal sentinels (ErrConflict, ErrNotFound, ErrTooLarge) for
// errors.Is. Using a Store after Close returns ErrClosed.
//
//	situation                                          error
//	-------------------------------------------------  -------------------------
//	New on a file another writer holds                 ErrLocked (*LockedError)
//	Append or PutDefinition on a ReadOnly store        ErrReadOnly
//	New with ReadOnly on a file that does not exist    fs.ErrNotExist
//	any call after Close                               ErrClosed
package sqlitejournal
