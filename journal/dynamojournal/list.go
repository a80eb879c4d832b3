package dynamojournal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// defaultLimit and maxLimit bound a page of Runs.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// index describes one GSI: its name and key attributes.
type index struct {
	name, pk, sk string
}

var (
	byWorkflow = index{IndexByWorkflow, attrGSI1PK, attrGSI1SK}
	byStatus   = index{IndexByStatus, attrGSI2PK, attrGSI2SK}
)

// statuses are the partitions of byStatus that a listing of all runs
// merges: every journal.Status. A run head in a status missing here would
// be left out of unfiltered listings.
var statuses = []journal.Status{
	journal.StatusRunning, journal.StatusWaiting, journal.StatusReview, journal.StatusCompleted,
	journal.StatusFailed, journal.StatusCancelled, journal.StatusDeferred,
}

// Runs implements journal.Store, newest first. Index partition keys are
// sharded (see WithIndexShards), so every listing merges several
// partitions: a workflow's shards of byWorkflow (its settled runs) and the
// shards of every unsettled status in byStatus filtered on the workflow
// when q names only a workflow, a status's shards of byStatus when it
// names a status, and the shards of every status when it names neither. With both, it reads the
// status's shards filtering on the workflow when the status is not
// terminal (few runs are running, waiting or in review), else the
// workflow's shards filtering on the status. Each set of shards also
// includes the unsharded partition of heads written before the index was
// sharded. Since (inclusive) and Until (exclusive) are key conditions on
// the index sort key. Listings read indexes, which DynamoDB updates
// asynchronously: a run may show up in them a moment after its append
// returned, and Seq in listed heads lags (it is the seq of the last status
// change).
func (s *Store) Runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	runs, cursor, err := s.runs(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("dynamojournal: runs %+v: %w", q, err)
	}
	return runs, cursor, nil
}

// listing is what a query reads: partitions of one index, an optional
// filter, and the order. Index entries are run heads or review items; both
// have sort keys "<time>#<id>", unique per item.
type listing struct {
	ix         index  // the index of the partitions (see keyIndex for mixed listings)
	name       string // names the listing's index (or indexes) in cursors
	partitions []string
	shards     int    // the shard count partitions were built with
	filterExpr string // a FilterExpression on #f and :f, or ""
	filterOn   string
	filter     string
	filterIx   string // the index whose partitions are filtered; "" for all
	oldest     bool   // oldest first (review items); newest first otherwise
	// itemKey is the table key of the item with id (for ExclusiveStartKey).
	itemKey func(id string) map[string]types.AttributeValue
}

// maxShards bounds the shard count a cursor may name.
const maxShards = 4096

// runListing returns the listing of run heads in partitions of ix.
func runListing(ix index, partitions []string, shards int) listing {
	return listing{ix: ix, name: ix.name, partitions: partitions, shards: shards, itemKey: headKey}
}

// keyIndex is the index of partition key: byWorkflow for "WF#…", byStatus
// otherwise ("ST#…", "RV#…").
func keyIndex(key string) index {
	if strings.HasPrefix(key, prefixWF) {
		return byWorkflow
	}
	return byStatus
}

// plan chooses the index, partitions and filter for q, reading n shards.
func plan(q journal.Query, n int) listing {
	var l listing
	switch {
	case q.Workflow != "" && q.Status != "" && !q.Status.Terminal():
		l = runListing(byStatus, statusPartitions(q.Status, n), n)
		l.filterOn, l.filter = attrWorkflow, q.Workflow
	case q.Workflow != "" && q.Status != "":
		l = runListing(byWorkflow, workflowPartitions(q.Workflow, n), n)
		l.filterOn, l.filter = attrStatus, string(q.Status)
	case q.Workflow != "":
		// Settled runs are in byWorkflow; unsettled ones only in
		// byStatus (see updateHead), read filtered on the workflow.
		parts := workflowPartitions(q.Workflow, n)
		for _, st := range unsettled {
			parts = append(parts, statusPartitions(st, n)...)
		}
		l = runListing(byWorkflow, parts, n)
		l.name = byWorkflow.name + "+" + byStatus.name
		l.filterOn, l.filter, l.filterIx = attrWorkflow, q.Workflow, byStatus.name
	case q.Status != "":
		l = runListing(byStatus, statusPartitions(q.Status, n), n)
	default:
		var all []string
		for _, st := range statuses {
			all = append(all, statusPartitions(st, n)...)
		}
		l = runListing(byStatus, all, n)
	}
	if l.filter != "" {
		l.filterExpr = "#f = :f"
	}
	return l
}

func (s *Store) runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, "", nil
	}
	n, err := s.cursorShards(ctx, q.Cursor)
	if err != nil {
		return nil, "", err
	}
	items, cursor, err := s.list(ctx, plan(q, n), q, limit)
	if err != nil {
		return nil, "", err
	}
	runs := make([]journal.Run, 0, len(items))
	for _, it := range items {
		r, err := decodeHead(it)
		if err != nil {
			return nil, "", err
		}
		runs = append(runs, r)
	}
	return runs, cursor, nil
}

// cursorShards is the shard count a listing reads: the one its cursor was
// made with, so that its partitions stay the same from page to page (the
// Store's own for a cursor made before cursors named it), or listShards
// for a first page.
func (s *Store) cursorShards(ctx context.Context, cur string) (int, error) {
	if cur == "" {
		return s.listShards(ctx)
	}
	c, err := parseCursor(cur)
	switch {
	case err != nil:
		return 0, err
	case c.N == 0:
		return s.opts.shards, nil
	case c.N < 1 || c.N > maxShards:
		return 0, fmt.Errorf("%w: %d shards", journal.ErrBadCursor, c.N)
	}
	return c.N, nil
}

// list reads up to limit index entries of l from the page q.Cursor names.
func (s *Store) list(ctx context.Context, l listing, q journal.Query, limit int) ([]map[string]types.AttributeValue, string, error) {
	open, after := l.partitions, ""
	if q.Cursor != "" {
		var err error
		if open, after, err = decodeCursor(q.Cursor, l); err != nil {
			return nil, "", err
		}
	}
	return s.merge(ctx, l, s.partitionQueries(l, open, after, q), limit)
}

// query returns a Query of partition pk of ix, newest first (or oldest), with q's
// Since and Until as key conditions on the sort key.
func (s *Store) query(ix index, pk string, q journal.Query, oldest bool) *dynamodb.QueryInput {
	names := map[string]string{"#pk": ix.pk}
	values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}
	cond := "#pk = :pk"
	since, until := !q.Since.IsZero(), !q.Until.IsZero()
	switch {
	case since && until:
		// "<until>" sorts before every "<until>#<id>": BETWEEN excludes them.
		cond += " AND #sk BETWEEN :lo AND :hi"
	case since:
		cond += " AND #sk >= :lo"
	case until:
		cond += " AND #sk < :hi"
	}
	if since || until {
		names["#sk"] = ix.sk
	}
	if since {
		values[":lo"] = &types.AttributeValueMemberS{Value: fmtTime(q.Since)}
	}
	if until {
		values[":hi"] = &types.AttributeValueMemberS{Value: fmtTime(q.Until)}
	}
	return &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(ix.name),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(oldest),
	}
}

// partition is one index partition read by merge: the items read and not
// yet taken, and whether more pages follow.
type partition struct {
	key   string
	ix    index
	scan  int // entries a filtered page reads (see fetch)
	in    *dynamodb.QueryInput
	items []map[string]types.AttributeValue
	more  bool
}

// partitionQueries builds the reads of the open partitions of l, each
// continuing after sort key after (when set).
func (s *Store) partitionQueries(l listing, open []string, after string, q journal.Query) []*partition {
	parts := make([]*partition, len(open))
	for i, key := range open {
		ix := keyIndex(key)
		p := &partition{key: key, ix: ix, in: s.query(ix, key, q, l.oldest)}
		if l.filterExpr != "" && (l.filterIx == "" || l.filterIx == ix.name) {
			p.in.FilterExpression = aws.String(l.filterExpr)
			p.in.ExpressionAttributeNames["#f"] = l.filterOn
			p.in.ExpressionAttributeValues[":f"] = &types.AttributeValueMemberS{Value: l.filter}
		}
		if after != "" {
			_, id, _ := strings.Cut(after, "#")
			p.in.ExclusiveStartKey = l.itemKey(id)
			p.in.ExclusiveStartKey[ix.pk] = &types.AttributeValueMemberS{Value: key}
			p.in.ExclusiveStartKey[ix.sk] = &types.AttributeValueMemberS{Value: after}
		}
		parts[i] = p
	}
	return parts
}

// fetch reads the next page of p, of at most n items (n before a filter).
func (s *Store) fetch(ctx context.Context, p *partition, n int) error {
	if p.in.FilterExpression != nil {
		// DynamoDB applies Limit before the filter: read at least 50
		// entries, and 4× more each time a page had no match (a
		// workflow's listing reads past other workflows' unsettled runs),
		// up to maxLimit.
		p.scan = min(max(p.scan, 50), maxLimit)
		n = max(n, p.scan)
	}
	p.in.Limit = aws.Int32(int32(min(n, maxLimit)))
	out, err := s.client.Query(ctx, p.in)
	if err != nil {
		return fmt.Errorf("partition %s: %w", p.key, err)
	}
	if len(out.Items) == 0 {
		p.scan *= 4
	}
	p.items = append(p.items, out.Items...)
	p.more = out.LastEvaluatedKey != nil
	p.in.ExclusiveStartKey = out.LastEvaluatedKey
	return nil
}

// merge lists up to limit entries from parts, newest first by sort key
// (oldest first when l.oldest). It reads a first page of every partition
// in parallel, then merges, reading further pages of a partition only
// when its buffer runs dry. The sort key ("<time>#<id>") is unique per
// item, so the merged order is total: when a page ends at key k, every
// partition has given all its entries before k and none after, and k is
// each partition's position. The cursor holds k and the partitions not
// read to their end. (Continuing each partition from k rather than from
// the last entry it gave keeps a run whose status changed since it was
// listed from showing again on a later page, as a single index would.)
func (s *Store) merge(ctx context.Context, l listing, parts []*partition, limit int) ([]map[string]types.AttributeValue, string, error) {
	// The first round asks each partition for a share of the page (enough
	// that a page spread evenly over the shards needs no second round),
	// and one more than a page when there are few partitions.
	first := min(limit+1, max(2*(limit+1)/len(parts)+1, 10))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { errs[i] = s.fetch(ctx, p, first) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	before := func(a, b string) bool { return a > b }
	if l.oldest {
		before = func(a, b string) bool { return a < b }
	}

	var items []map[string]types.AttributeValue
	seen := map[string]bool{}
	after := ""
	for len(items) < limit {
		var next *partition
		for _, p := range parts {
			// A filtered page may hold no match: read on until the
			// partition gives an entry or ends.
			for len(p.items) == 0 && p.more {
				if err := s.fetch(ctx, p, limit-len(items)+1); err != nil {
					return nil, "", err
				}
			}
			if len(p.items) > 0 && (next == nil || before(str(p.items[0], p.ix.sk), str(next.items[0], next.ix.sk))) {
				next = p
			}
		}
		if next == nil {
			break
		}
		item := next.items[0]
		next.items = next.items[1:]
		after = str(item, next.ix.sk)
		// While the index moves an entry from one partition to another,
		// it may show in both for a moment: list it once, at its first.
		if id := str(item, attrID); seen[id] {
			continue
		} else {
			seen[id] = true
		}
		items = append(items, item)
	}
	var left []string
	for _, p := range parts {
		if len(p.items) > 0 || p.more {
			left = append(left, p.key)
		}
	}
	if len(left) == 0 {
		return items, "", nil
	}
	return items, encodeCursor(l, after, left), nil
}

// cursor is a page position: the index and the listing's last partition
// (which names its status, workflow or review state), the shard count its
// partitions were built with (N; cursors made before the count was
// recorded have none, and use the count of the Store reading them), After
// (the sort key of the last entry returned, where every partition
// continues) and Open (the partitions not read to their end, as indexes
// into the listing's partitions). Cursors of the index "all", since
// removed, had Key instead; they are refused.
type cursor struct {
	Index string            `json:"i"`
	Last  string            `json:"l,omitempty"`
	N     int               `json:"n,omitempty"`
	After string            `json:"a,omitempty"`
	Open  []int             `json:"o,omitempty"`
	Key   map[string]string `json:"k,omitempty"`
}

func encodeCursor(l listing, after string, open []string) string {
	c := cursor{Index: l.name, Last: l.partitions[len(l.partitions)-1], N: l.shards, After: after}
	for _, key := range open {
		c.Open = append(c.Open, slices.Index(l.partitions, key))
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the open partitions and position of a cursor of
// listing l, or an error if it is not one.
func decodeCursor(s string, l listing) (open []string, after string, err error) {
	c, err := parseCursor(s)
	if err != nil {
		return nil, "", err
	}
	if c.Index != l.name || c.Last != l.partitions[len(l.partitions)-1] || len(c.Key) > 0 {
		return nil, "", fmt.Errorf("%w: it belongs to another query", journal.ErrBadCursor)
	}
	// After is a sort key "<time>#<run id>".
	if t, id, ok := strings.Cut(c.After, "#"); !ok || len(t) != len(timeLayout) || id == "" {
		return nil, "", fmt.Errorf("%w: position %.40q", journal.ErrBadCursor, c.After)
	}
	if len(c.Open) == 0 {
		return nil, "", fmt.Errorf("%w: no partition left", journal.ErrBadCursor)
	}
	for i, k := range c.Open {
		if k < 0 || k >= len(l.partitions) || slices.Contains(c.Open[:i], k) {
			return nil, "", fmt.Errorf("%w: partition %d", journal.ErrBadCursor, k)
		}
		open = append(open, l.partitions[k])
	}
	return open, c.After, nil
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return cursor{}, fmt.Errorf("%w: %w", journal.ErrBadCursor, err)
	}
	return c, nil
}
