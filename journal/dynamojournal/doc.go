// Package dynamojournal is the production journal.Store, on one DynamoDB
// table (aws-sdk-go-v2). It passes the conformance suite in journaltest
// against DynamoDB Local.
//
// The Store takes a *dynamodb.Client as built by the caller (endpoint,
// retries, middleware such as call counters are the caller's choice) and
// never loads configuration itself. CreateTable creates a table with the
// schema below for tests and the local stack; deployment templates declare
// the same table (TableSchema returns it as a CreateTableInput).
//
// # Cost model
//
// No call is a transaction. A step transition that does not change the
// run's status is one conditional PutItem of one new item: one write (one
// write unit up to 1 KB; commits over 768 bytes of events are gzipped when
// that saves units, which keeps typical 2 KB transitions in one). The first
// commit of a run and each status change are that PutItem plus one
// UpdateItem of the run head. Load is one strongly consistent Query of the
// run's partition. Write units measured on DynamoDB Local
// (TestWriteUnits), per append kind:
//
//	append kind                  calls                 write units
//	---------------------------  --------------------  ------------------------------------
//	step commit (≤ ~2 KB)        PutItem               1
//	first commit                 PutItem + UpdateItem  3: commit, head, its byStatus entry
//	status change (unsettled)    PutItem + UpdateItem  4: commit, head, byStatus entry moved
//	status change (to settled)   PutItem + UpdateItem  5: and the byWorkflow entry put
//
// A status change moves the head's byStatus entry (its partition key holds
// the status), a delete and a put of a small entry: the indexes project
// only the attributes listings read. A head enters byWorkflow only when its
// run settles (completed, failed, cancelled): workflow listings read the
// unsettled runs from byStatus (see Listing). A happy-path run of K steps
// started by a trigger is journaled in K+1 commits (the orchestrator
// journals the start with the first decision) and costs 3 + (K-1) + 5
// units: 12 at K=5, 2.4 per step transition; started through the API (the
// first decision a commit of its own) 13, 2.6. The floor for this listing
// contract (a run listed in its status while it runs, by status and by
// workflow once settled, both by Updated) with a head item is the K+1
// commits, 2 head writes, 2 byStatus writes for leaving running and 1 per
// index for the settled entry: 12 at K=5. There is no index of all runs: a
// third index sorted by update time would cost 2 more units per status
// change (see Listing).
//
// # Commits are the truth, the head is an index
//
// The commit's PutItem is the only write that decides anything: its
// condition (attribute_not_exists on its own key) picks exactly one winner
// per sequence number, detects stale writers and duplicate starts. The
// first commit carries the run's workflow and defHash (its at is the run's
// Created), and every commit that sets a status carries it (its at is the
// run's Updated), so Load builds the whole head from the commits: Seq from
// the last, Status and Updated from the last that set a status. The head
// item exists for listings only.
//
// The head write that follows is conditioned to never move the head
// backwards (attribute_not_exists(pk) OR seq < :seq, seq being the commit
// that set the status): a slower writer's older status, an SDK retry of a
// head write that landed, and a repeated repair are all no-ops.
//
// Every run reaches its status listing. If the head write fails, Append
// still returns the commit's sequence: the commit landed, and its caller
// must go on to dispatch the effects and steps it decided (an error there
// would leave them to a recovery the engine does not make for every run).
// The Store owes the head write: its next Append, Since or Load of the run
// pays it, and any Load on any Store that finds the head missing or behind
// the commits writes it (one UpdateItem, only when it lags); Since and
// Load fail with ErrHeadPending while the write keeps failing, so the
// message that drove them comes back. A writer that stops between the two
// writes has not acknowledged its message either, so the redelivery's Load
// repairs the head. Until then,
// listings (Runs) may show the run in its previous status or not at all;
// Load and the journal are never wrong. A process that loads the run from
// a snapshot (journal.Snapshots: LatestSnapshot, then Since) does not call
// Load, but gets the same repair: the snapshot item records the run's last
// status change at or before its commit, Since reads the head item with
// the commits after it (the same Query), and a Store that knows the run's
// last status change (from Load, or from the snapshot and every commit
// since) writes a head that lags it. (Snapshots written before they
// recorded it skip the check, until the next snapshot.) For what
// redelivery gave up on (a message moved to a dead-letter queue during an
// outage), RepairHeads
// finds and writes lagging heads, reading only unsettled runs.
//
// A Store that does not know a run's workflow (it neither started nor
// loaded it) updates only the head's moving fields; if the head is missing
// it reads the first commit (one GetItem) and writes the whole head.
//
// # Table
//
// Billing on demand. Every key attribute is a string (S). Both global
// secondary indexes project INCLUDE the run head attributes listings read
// (id, workflow, defHash, status, seq, created, updated) and the
// definition attributes (hash, name, version, json), as both also list
// definitions; each item carries only its own kind's.
//
//	key / index           partition key   sort key
//	--------------------  --------------  --------
//	table                 pk              sk
//	GSI byWorkflow        gsi1pk          gsi1sk
//	GSI byStatus          gsi2pk          gsi2sk
//
// Items:
//
//	item        pk            sk                    other attributes
//	----------  ------------  --------------------  ----------------------------------------------
//	commit      RUN#<run id>  seq, 19 digits, e.g.  ev (B) or blob (S, its S3 key), z (S, "gzip"),
//	                          0000000000000000007   at (S), tok (S); status (S) when the commit
//	                                                sets it; workflow, defHash (S) on commit 1
//	run head    RUN#<run id>  HEAD                  id, workflow, defHash, status, seq (N),
//	                                                created, updated,
//	                                                gsi1pk  WF#<workflow>#<shard>  gsi1sk <updated>#<id>
//	                                                gsi2pk  ST#<status>#<shard>    gsi2sk <updated>#<id>
//	definition  DEF#<hash>    DEF                   hash, name, version, json (B), created,
//	                                                gsi1pk  DEFNAME#<name>  gsi1sk <created>#<hash>
//	                                                gsi2pk  DEFS            gsi2sk <created>#<hash>
//	stream      STREAM#<name> seq, 19 digits        ev (B), at (S): an internal stream's commit
//	            (journal.Streams); no index attributes
//	snapshot    RUN#<run id>  #SNAP (before commit  seq (N), data (B, gzipped) or blob (S3 key), z;
//	            1: Load and Since never read it)    hseq (N), hst, hat (S): the run's last status
//	                                                change at or before seq (journal.Snapshots);
//	                                                no index attributes
//	snapshot    RUN#<run id>  #PART#<key> (before   data (B, gzipped) or blob (S3 key), z: a value
//	part                      commit 1)             snapshots refer to, written once; no index
//	                                                attributes
//	review      REVIEW#<id>   ITEM                  id, status (open|resolved), created, json (B),
//	item        (journal.Reviews)                   gsi2pk  RV#<status>#<shard>  gsi2sk <created>#<id>
//	shard count CONFIG        SHARDS                shards (N): the largest index shard count any
//	                                                writer used (see Listing); no index attributes
//
// Streams and review items never show in run listings: those read only
// the WF# and ST# index partitions. An AppendStream is a consistent
// GetItem of the commit it follows and a conditional PutItem; review items
// are listed from the shards of RV#open and RV#resolved (ReviewPartition,
// sharded like run heads, so that a flood of malformed messages or failed
// effects is not capped at one partition's 1,000 writes per second),
// merged oldest first, with the unsharded RV#open and RV#resolved of items
// written before review items were sharded.
//
// Times are UTC strings of fixed width, "2006-01-02T15:04:05.000000000Z",
// so that index sort keys order by time. Commit sort keys are zero-padded
// so that a run's partition reads back in sequence order with its head
// last. ev holds journal.EncodeEvents of the commit's events, gzip-compressed
// when that saves write units (or bytes, over 4 KB; WithCompressAbove) and
// flagged by z. tok is a random token per Append call, by which an SDK
// retry of a PutItem that had landed recognises its own item. Runs written
// before commits carried workflow and status load from their head item.
// Items written when the table had a third index ("all") still carry
// gsi3pk ("RUNS" or "DEFS") and gsi3sk; nothing reads them, and
// definitions written then lack gsi2pk, so Definitions("") misses them
// until gsi2pk "DEFS" and gsi2sk "<created>#<hash>" are added to them.
//
// # Sequences and conflicts
//
// Commit n+1 is written with the condition attribute_not_exists(pk) on its
// own key, so exactly one writer wins each sequence number and a writer
// whose After is stale collides with the winner's item. That After itself
// exists (no gaps) is known without a request when this Store has loaded or
// written the run that far, as the engine always has before it appends;
// otherwise Append reads that one key first. The head's seq moves only with
// the status, so listed heads lag; Load returns the true last sequence,
// read from the commits.
//
// The Store writes no ttl attribute. If a retention job or TTL ever deletes
// a run's items, it must only do so for runs no writer will append to (a
// terminal run, long finished): a Store that remembers the run as written up
// to n would otherwise accept commit n+1 into an empty partition.
//
// # Listing
//
// Index partition keys of run heads are write-sharded: a head in status st
// is in byStatus partition "ST#<st>#<shard>" and in byWorkflow partition
// "WF#<workflow>#<shard>", the shard being FNV-1a of the run id modulo the
// shard count (WithIndexShards, default 8; StatusPartition and
// WorkflowPartition build these keys, for capacity models). A DynamoDB
// partition takes about 1,000 write units per second; unsharded, one busy
// status (ST#completed) or workflow would cap the whole deployment at a
// few hundred runs per second, and a time-ordered sort key keeps writes on
// the partition's tail, where DynamoDB's own splitting does not help.
//
// Runs reads byWorkflow and the unsettled byStatus partitions when the
// query names only a workflow (see below), byStatus when it names a
// status (the review queue is the shards of ST#review), and with neither the shards of every journal.Status; with both it reads
// byStatus when the status is not terminal and byWorkflow otherwise,
// filtering on the other attribute. It queries every shard of the
// partition key, the first page of each in parallel, and merges them
// newest first by sort key ("<updated>#<id>", unique per run, so the
// merged order is total and every shard continues from the last run
// listed). Since/Until are key conditions on the sort key. Cursors are
// base64url JSON of the index, the listing's key, the sort key of the last
// run listed and the shards not read to their end. A run moving between
// statuses may for a moment be in two partitions; a page lists it once.
//
// The shard count can change on a live deployment, both ways: every
// writer records its count in the item (CONFIG, SHARDS) as the largest
// ever used (one conditional UpdateItem per Store, before its first index
// write), and listings read max(own count, recorded count) shards (the
// record read at most once a minute per Store). A head moves to its shard
// under a new count at its next status change; until then it stays listed
// in its old shard. Cursors name the shard count of their listing.
//
// Each listing also reads the unsharded partition ("ST#<st>", "WF#<wf>")
// where heads written before sharding are: they stay listed as they are,
// and a head moves to its shard at its next status change, so no upgrade
// step is needed. Reading it costs one more (usually empty) Query per
// status or workflow listed.
//
// byWorkflow holds settled runs only: a head gets its byWorkflow sort key
// (gsi1sk "<updated>#<id>"; gsi1pk is written at the start) when its run
// completes, fails or is cancelled, and loses it on a change to another
// unsettled status, so starts and moves between unsettled statuses write
// no byWorkflow entry. A listing of one workflow (any status) merges the
// workflow's byWorkflow shards with the byStatus shards of every unsettled
// status (running, waiting, review, deferred), filtered on the workflow:
// the order stays by Updated, newest first, as every backend, the CLI and
// the API list runs. The filtered partitions hold every workflow's
// unsettled runs, so such a listing reads past other workflows' runs in
// flight (read units, not write units; filtered pages read 50 entries and
// 4× more each time they find no match, up to 1,000, so a few Queries cross
// thousands); with a status, the listing reads
// one index as before. Heads written before this still have their
// byWorkflow entry while unsettled; listings show them once (a page lists
// a run once, and their two entries share their sort key), and they leave
// byWorkflow at their next status change. There is no index of all runs:
// its entries would move on every status change (2 more units), all in one
// partition.
// Indexes are eventually consistent: a run or definition may be missing
// from listings for a moment after its write returned, and until the head
// write is retried after a lost one (see above).
//
// # Errors
//
//	situation                                              error
//	-----------------------------------------------------  ------------------------
//	Load of a run with no commit                           journal.ErrNotFound
//	commit n+1 already written (stale After)               journal.ErrConflict
//	no commit After (unknown run, or After beyond last)    journal.ErrConflict
//	After 0 for a run whose first commit exists            journal.ErrConflict
//	commit item over 400 KB after compression, no bucket   journal.ErrTooLarge
//	commit events over 16 MiB (WithMaxCommitSize)          journal.ErrTooLarge
//	unknown definition hash                                journal.ErrNotFound
//	cursor from another query, or not a cursor             an error (no sentinel)
//	Since or Load of a run whose head write keeps failing  ErrHeadPending
//
// Like any
// conflict, ErrConflict means "load and decide again", which is always
// safe. Errors name the run and the sequence; a too large commit's error is
// a *journal.TooLargeError naming its steps, size and limit.
//
// # Large commits
//
// Commits over 768 bytes of events are gzipped when that saves write units.
// With WithS3, a commit whose item would still be over 64 KB
// (WithOffloadAbove) is offloaded: its (compressed) events go to the bucket
// as the object "commits/<sha256 of the body>", written before the commit
// item, which holds that key in attribute blob in place of ev. Load and
// Since read offloaded commits back and check the body against its hash.
// Objects are never deleted (an object whose commit lost a race to another
// writer stays unreferenced). Without a bucket, a commit whose item would be
// over 400 KB fails with journal.ErrTooLarge; with one, the limit is 16 MiB
// of encoded events, as in the embedded journal.
package dynamojournal
