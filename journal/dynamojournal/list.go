package dynamojournal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

// Runs implements journal.Store, newest first: it queries byWorkflow when q
// names a workflow, byStatus when it names a status, and with neither it
// queries the byStatus partition of every status (in parallel) and merges
// them by their sort key. With both, it queries byStatus and filters on the
// workflow when the status is not terminal (few runs are running, waiting
// or in review), else byWorkflow filtering on the status. Since
// (inclusive) and Until (exclusive) are key conditions on the index sort
// key. Listings read indexes, which DynamoDB updates asynchronously: a run
// may show up in them a moment after its append returned, and Seq in
// listed heads lags (it is the seq of the last status change).
func (s *Store) Runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	runs, cursor, err := s.runs(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("dynamojournal: runs %+v: %w", q, err)
	}
	return runs, cursor, nil
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
	if q.Workflow == "" && q.Status == "" {
		return s.allRuns(ctx, q, limit)
	}

	var ix index
	var pk string
	var filter *types.AttributeValueMemberS
	var filterOn string
	switch {
	case q.Workflow != "" && q.Status != "" && !q.Status.Terminal():
		ix, pk = byStatus, prefixStatus+string(q.Status)
		filterOn, filter = attrWorkflow, &types.AttributeValueMemberS{Value: q.Workflow}
	case q.Workflow != "" && q.Status != "":
		ix, pk = byWorkflow, prefixWF+q.Workflow
		filterOn, filter = attrStatus, &types.AttributeValueMemberS{Value: string(q.Status)}
	case q.Workflow != "":
		ix, pk = byWorkflow, prefixWF+q.Workflow
	default:
		ix, pk = byStatus, prefixStatus+string(q.Status)
	}
	in := s.query(ix, pk, q)
	if filter != nil {
		in.FilterExpression = aws.String("#f = :f")
		in.ExpressionAttributeNames["#f"] = filterOn
		in.ExpressionAttributeValues[":f"] = filter
	}
	if q.Cursor != "" {
		start, err := decodeCursor(q.Cursor, ix)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}

	var runs []journal.Run
	for {
		// Ask for one more than needed, to know whether a next page exists;
		// with a filter, ask for more, as DynamoDB applies Limit before it.
		page := limit - len(runs) + 1
		if filter != nil {
			page = max(page, 50)
		}
		in.Limit = aws.Int32(int32(min(page, maxLimit)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", err
		}
		for i, item := range out.Items {
			if len(runs) == limit {
				// More items follow: the next page starts after the last
				// run returned.
				return runs, encodeCursor(ix, out.Items[i-1]), nil
			}
			r, err := decodeHead(item)
			if err != nil {
				return nil, "", err
			}
			runs = append(runs, r)
		}
		if out.LastEvaluatedKey == nil {
			return runs, "", nil
		}
		if len(runs) == limit {
			return runs, encodeCursor(ix, out.LastEvaluatedKey), nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
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

// partition is one byStatus partition read by allRuns: the items read and
// not yet taken, and whether more pages follow.
type partition struct {
	status journal.Status
	in     *dynamodb.QueryInput
	items  []map[string]types.AttributeValue
	more   bool
}

// fetch reads the next page of p, of at most n items.
func (s *Store) fetch(ctx context.Context, p *partition, n int) error {
	p.in.Limit = aws.Int32(int32(min(n, maxLimit)))
	out, err := s.client.Query(ctx, p.in)
	if err != nil {
		return fmt.Errorf("status %s: %w", p.status, err)
	}
	p.items = append(p.items, out.Items...)
	p.more = out.LastEvaluatedKey != nil
	p.in.ExclusiveStartKey = out.LastEvaluatedKey
	return nil
}

// allRuns lists runs of every status: it reads the byStatus partition of
// each status, the first page of each in parallel, and merges them newest
// first by sort key. The sort key ("<updated>#<id>") is unique per run, so
// the merged order is total: when a page ends at key k, every partition
// has given all its runs above k and none below, and k is each partition's
// position. The cursor holds k and the partitions not read to their end.
// (Continuing each partition from k rather than from the last run it gave
// keeps a run whose status changed since it was listed from showing again
// on a later page, as a single index would.)
func (s *Store) allRuns(ctx context.Context, q journal.Query, limit int) ([]journal.Run, string, error) {
	open, after := statuses, ""
	if q.Cursor != "" {
		var err error
		if open, after, err = decodeMergeCursor(q.Cursor); err != nil {
			return nil, "", err
		}
	}
	parts := make([]*partition, len(open))
	for i, st := range open {
		p := &partition{status: st, in: s.query(byStatus, prefixStatus+string(st), q)}
		if after != "" {
			_, id, _ := strings.Cut(after, "#")
			p.in.ExclusiveStartKey = map[string]types.AttributeValue{
				attrPK:     &types.AttributeValueMemberS{Value: runKey(id)},
				attrSK:     &types.AttributeValueMemberS{Value: skHead},
				attrGSI2PK: &types.AttributeValueMemberS{Value: prefixStatus + string(st)},
				attrGSI2SK: &types.AttributeValueMemberS{Value: after},
			}
		}
		parts[i] = p
	}
	// One more than a page from each, to know whether a next page exists
	// without a second round.
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { errs[i] = s.fetch(ctx, p, limit+1) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}

	var runs []journal.Run
	seen := map[string]bool{}
	for len(runs) < limit {
		var next *partition
		for _, p := range parts {
			if len(p.items) == 0 && p.more {
				if err := s.fetch(ctx, p, limit-len(runs)+1); err != nil {
					return nil, "", err
				}
			}
			if len(p.items) > 0 && (next == nil || str(p.items[0], attrGSI2SK) > str(next.items[0], attrGSI2SK)) {
				next = p
			}
		}
		if next == nil {
			break
		}
		item := next.items[0]
		next.items = next.items[1:]
		after = str(item, attrGSI2SK)
		r, err := decodeHead(item)
		if err != nil {
			return nil, "", err
		}
		// While the index moves a run from one status to another, it may
		// show in both for a moment: list it once, at its newest.
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		runs = append(runs, r)
	}
	var left []journal.Status
	for _, p := range parts {
		if len(p.items) > 0 || p.more {
			left = append(left, p.status)
		}
	}
	if len(left) == 0 {
		return runs, "", nil
	}
	return runs, encodeMergeCursor(after, left), nil
}

// cursor is a page position. A query of one index has Index and Key: the
// key of the last item read, as DynamoDB's ExclusiveStartKey (the table
// and index key attributes, all strings). A listing of all runs has Index
// "byStatus*", After: the byStatus sort key of the last run returned,
// where every partition continues, and Open: the statuses whose
// partitions are not read to their end.
type cursor struct {
	Index string            `json:"i"`
	Key   map[string]string `json:"k,omitempty"`
	After string            `json:"a,omitempty"`
	Open  []journal.Status  `json:"o,omitempty"`
}

// mergeIndex names the position of a listing of all runs in a cursor.
const mergeIndex = IndexByStatus + "*"

// encodeCursor encodes the position after item (an item of ix, or a
// LastEvaluatedKey of a query on ix) as a cursor.
func encodeCursor(ix index, item map[string]types.AttributeValue) string {
	c := cursor{Index: ix.name, Key: map[string]string{}}
	for _, k := range []string{attrPK, attrSK, ix.pk, ix.sk} {
		c.Key[k] = str(item, k)
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, ix index) (map[string]types.AttributeValue, error) {
	c, err := parseCursor(s)
	if err != nil {
		return nil, err
	}
	want := []string{attrPK, attrSK, ix.pk, ix.sk}
	slices.Sort(want)
	if c.Index != ix.name || !slices.Equal(slices.Sorted(maps.Keys(c.Key)), want) {
		return nil, fmt.Errorf("%w: it belongs to another query", journal.ErrBadCursor)
	}
	key := map[string]types.AttributeValue{}
	for k, v := range c.Key {
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}

func encodeMergeCursor(after string, open []journal.Status) string {
	b, _ := json.Marshal(cursor{Index: mergeIndex, After: after, Open: open})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMergeCursor(s string) (open []journal.Status, after string, err error) {
	c, err := parseCursor(s)
	if err != nil {
		return nil, "", err
	}
	if c.Index != mergeIndex || len(c.Key) > 0 {
		return nil, "", fmt.Errorf("%w: it belongs to another query", journal.ErrBadCursor)
	}
	// After is a sort key "<updated>#<run id>".
	if t, id, ok := strings.Cut(c.After, "#"); !ok || len(t) != len(timeLayout) || id == "" {
		return nil, "", fmt.Errorf("%w: position %.40q", journal.ErrBadCursor, c.After)
	}
	if len(c.Open) == 0 {
		return nil, "", fmt.Errorf("%w: no partition left", journal.ErrBadCursor)
	}
	for i, st := range c.Open {
		if !slices.Contains(statuses, st) || slices.Contains(c.Open[:i], st) {
			return nil, "", fmt.Errorf("%w: status %.40q", journal.ErrBadCursor, st)
		}
	}
	return c.Open, c.After, nil
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
