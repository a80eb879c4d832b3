// Package journal defines ordo's event-sourced journal: the events a run is
// made of, and Store, the port every journal backend implements.
//
// A run's journal is an append-only sequence of commits. Each commit carries
// one or more events (the result of step A and the scheduling of B and C
// together) and is written atomically as one row or item: one decision costs
// one journal write. Commits are numbered 1, 2, 3, ... per run; an append
// names the sequence number it expects to follow, and fails with ErrConflict
// if another writer got there first. That single rule makes duplicates and
// retries harmless: a duplicate trigger finds the run already started, a
// redelivered step result finds its slot taken, and the loser reloads and
// decides again.
//
// Internal streams (Streams: deferral queues) and review items (Reviews:
// malformed triggers, failed effects) are kept apart from runs, in a key
// space of their own: they never show up in Load or Runs. So are
// snapshots (Snapshots: a run's latest folded state, which a cold process
// loads with the commits after it instead of the whole journal, and the
// parts its snapshots refer to: large values written once and read only
// when a decision needs them).
//
// Backends: sqlitejournal (embedded, the default) and dynamojournal
// (production). Both pass the conformance suites in journaltest (Run for
// Store, RunInternal for Streams and Reviews, RunSnapshots for
// Snapshots).
//
// # Errors
//
// Callers branch on these sentinels with errors.Is:
//
//	situation                                          error
//	-------------------------------------------------  -----------
//	Load of a run that was never started               ErrNotFound
//	Append after a sequence that is not the run's last ErrConflict
//	Append after 0 for a run that already exists       ErrConflict
//	Definition lookup by an unknown hash               ErrNotFound
//	A commit too large for the backend                 ErrTooLarge
//	AppendStream after a sequence not the stream's last ErrConflict
//	Review or ResolveReview of an unknown item         ErrNotFound
//	ResolveReview of an item resolved already          ErrConflict
//
// Errors are wrapped with the run id and operation, so messages name what
// failed and where. A too large commit is a *TooLargeError (errors.As),
// which names the run, the steps of the commit, its size and the limit.
package journal
