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
// partitions: a workflow's shards of byWorkflow when q names only a
// workflow, a status's shards of byStatus when it names a status, and the
// shards of every status when it names neither. With both, it reads the
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

// listing is what a query reads: partitions of one index, and an optional
// filter on a projected attribute.
type listing struct {
	ix         index
	partitions []string
	filterOn   string
	filter     string
}

// plan chooses the index, partitions and filter for q.
func (s *Store) plan(q journal.Query) listing {
	n := s.opts.shards
	switch {
	case q.Workflow != "" && q.Status != "" && !q.Status.Terminal():
		return listing{byStatus, statusPartitions(q.Status, n), attrWorkflow, q.Workflow}
	case q.Workflow != "" && q.Status != "":
		return listing{byWorkflow, workflowPartitions(q.Workflow, n), attrStatus, string(q.Status)}
	case q.Workflow != "":
		return listing{ix: byWorkflow, partitions: workflowPartitions(q.Workflow, n)}
	case q.Status != "":
		return listing{ix: byStatus, partitions: statusPartitions(q.Status, n)}
	}
	var all []string
	for _, st := range statuses {
		all = append(all, statusPartitions(st, n)...)
	}
	return listing{ix: byStatus, partitions: all}
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
	l := s.plan(q)
	open, after := l.partitions, ""
	if q.Cursor != "" {
		var err error
		if open, after, err = decodeCursor(q.Cursor, l); err != nil {
			return nil, "", err
		}
	}
	return s.merge(ctx, l, s.partitionQueries(l, open, after, q), limit)
}

// query returns a Query of partition pk of ix, newest first, with q's
// Since and Until as key conditions on the sort key.
func (s *Store) query(ix index, pk string, q journal.Query) *dynamodb.QueryInput {
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
		ScanIndexForward:          aws.Bool(false),
	}
}

// partition is one index partition read by merge: the items read and not
// yet taken, and whether more pages follow.
type partition struct {
	key   string
	in    *dynamodb.QueryInput
	items []map[string]types.AttributeValue
	more  bool
}

// partitionQueries builds the reads of the open partitions of l, each
// continuing after sort key after (when set).
func (s *Store) partitionQueries(l listing, open []string, after string, q journal.Query) []*partition {
	parts := make([]*partition, len(open))
	for i, key := range open {
		p := &partition{key: key, in: s.query(l.ix, key, q)}
		if l.filter != "" {
			p.in.FilterExpression = aws.String("#f = :f")
			p.in.ExpressionAttributeNames["#f"] = l.filterOn
			p.in.ExpressionAttributeValues[":f"] = &types.AttributeValueMemberS{Value: l.filter}
		}
		if after != "" {
			_, id, _ := strings.Cut(after, "#")
			p.in.ExclusiveStartKey = map[string]types.AttributeValue{
				attrPK:  &types.AttributeValueMemberS{Value: runKey(id)},
				attrSK:  &types.AttributeValueMemberS{Value: skHead},
				l.ix.pk: &types.AttributeValueMemberS{Value: key},
				l.ix.sk: &types.AttributeValueMemberS{Value: after},
			}
		}
		parts[i] = p
	}
	return parts
}

// fetch reads the next page of p, of at most n items (n before a filter).
func (s *Store) fetch(ctx context.Context, p *partition, n int) error {
	if p.in.FilterExpression != nil {
		n = max(n, 50) // DynamoDB applies Limit before the filter
	}
	p.in.Limit = aws.Int32(int32(min(n, maxLimit)))
	out, err := s.client.Query(ctx, p.in)
	if err != nil {
		return fmt.Errorf("partition %s: %w", p.key, err)
	}
	p.items = append(p.items, out.Items...)
	p.more = out.LastEvaluatedKey != nil
	p.in.ExclusiveStartKey = out.LastEvaluatedKey
	return nil
}

// merge lists up to limit runs from parts, newest first by sort key. It
// reads a first page of every partition in parallel, then merges, reading
// further pages of a partition only when its buffer runs dry. The sort key
// ("<time>#<id>") is unique per run, so the merged order is total: when a
// page ends at key k, every partition has given all its runs above k and
// none below, and k is each partition's position. The cursor holds k and
// the partitions not read to their end. (Continuing each partition from k
// rather than from the last run it gave keeps a run whose status changed
// since it was listed from showing again on a later page, as a single
// index would.)
func (s *Store) merge(ctx context.Context, l listing, parts []*partition, limit int) ([]journal.Run, string, error) {
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

	var runs []journal.Run
	seen := map[string]bool{}
	after := ""
	for len(runs) < limit {
		var next *partition
		for _, p := range parts {
			if len(p.items) == 0 && p.more {
				if err := s.fetch(ctx, p, limit-len(runs)+1); err != nil {
					return nil, "", err
				}
			}
			if len(p.items) > 0 && (next == nil || str(p.items[0], l.ix.sk) > str(next.items[0], l.ix.sk)) {
				next = p
			}
		}
		if next == nil {
			break
		}
		item := next.items[0]
		next.items = next.items[1:]
		after = str(item, l.ix.sk)
		r, err := decodeHead(item)
		if err != nil {
			return nil, "", err
		}
		// While the index moves a run from one partition to another, it
		// may show in both for a moment: list it once, at its newest.
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		runs = append(runs, r)
	}
	var left []string
	for _, p := range parts {
		if len(p.items) > 0 || p.more {
			left = append(left, p.key)
		}
	}
	if len(left) == 0 {
		return runs, "", nil
	}
	return runs, encodeCursor(l, after, left), nil
}

// cursor is a page position: the index and the listing's last partition
// (which names its status or workflow), After (the sort key of the last
// run returned, where every partition continues) and Open (the partitions
// not read to their end, as indexes into the listing's partitions). A
// query of one partition (review items) has Index and Key instead: the
// key of the last item read, as DynamoDB's ExclusiveStartKey.
type cursor struct {
	Index string            `json:"i"`
	Last  string            `json:"l,omitempty"`
	After string            `json:"a,omitempty"`
	Open  []int             `json:"o,omitempty"`
	Key   map[string]string `json:"k,omitempty"`
}

func encodeCursor(l listing, after string, open []string) string {
	c := cursor{Index: l.ix.name, Last: l.partitions[len(l.partitions)-1], After: after}
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
	if c.Index != l.ix.name || c.Last != l.partitions[len(l.partitions)-1] || len(c.Key) > 0 {
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
