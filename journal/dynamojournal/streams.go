package dynamojournal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// Internal streams and review items share the table with runs under key
// prefixes of their own, which no run listing reads:
//
//	item            pk                 sk          other attributes
//	--------------  -----------------  ----------  ----------------------------------------
//	stream commit   STREAM#<stream>    seq (19     ev (B: journal.EncodeEvents), at (S)
//	                                   digits)
//	review item     REVIEW#<item id>   ITEM        id, status ("open" | "resolved"), created,
//	                                               json (B: the journal.ReviewItem),
//	                                               gsi2pk RV#<status>#<shard>, gsi2sk <created>#<id>
//
// Stream commits carry no index attributes. Review items are listed from
// the byStatus index partitions RV#open#<shard> and RV#resolved#<shard>
// (see ReviewPartition), merged oldest first like run listings, and the
// unsharded RV#open and RV#resolved of items written before they were
// sharded; run listings read only the ST# partitions.
const (
	prefixStream   = "STREAM#"
	prefixReview   = "REVIEW#"
	prefixReviewIx = "RV#"
	skReview       = "ITEM"
	reviewOpen     = "open"
	reviewResolved = "resolved"
)

var (
	_ journal.Streams = (*Store)(nil)
	_ journal.Reviews = (*Store)(nil)
)

// AppendStream implements journal.Streams: after a consistent check that
// commit after exists (commits are never deleted), one conditional PutItem
// of commit after+1.
func (s *Store) AppendStream(ctx context.Context, stream string, after int64, events []journal.Event) (int64, error) {
	if err := s.appendStream(ctx, stream, after, events); err != nil {
		return 0, fmt.Errorf("dynamojournal: append to stream %s after %d: %w", stream, after, err)
	}
	return after + 1, nil
}

func (s *Store) appendStream(ctx context.Context, stream string, after int64, events []journal.Event) error {
	if err := journal.ValidateStreamAppend(stream, after, events); err != nil {
		return err
	}
	b, err := journal.EncodeEvents(events)
	if err != nil {
		return err
	}
	pk := &types.AttributeValueMemberS{Value: prefixStream + stream}
	if after > 0 {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
			Key:                  map[string]types.AttributeValue{attrPK: pk, attrSK: &types.AttributeValueMemberS{Value: seqKey(after)}},
			ProjectionExpression: aws.String("#pk"), ExpressionAttributeNames: map[string]string{"#pk": attrPK}})
		if err != nil {
			return err
		}
		if out.Item == nil {
			return fmt.Errorf("commit %d does not exist: %w", after, journal.ErrConflict)
		}
	}
	item := map[string]types.AttributeValue{
		attrPK:     pk,
		attrSK:     &types.AttributeValueMemberS{Value: seqKey(after + 1)},
		attrAt:     &types.AttributeValueMemberS{Value: fmtTime(s.opts.now())},
		attrEvents: &types.AttributeValueMemberB{Value: b},
	}
	if n := itemSize(item); n > s.opts.maxItemSize {
		return fmt.Errorf("a %d-byte item, limit %d: %w", n, s.opts.maxItemSize, journal.ErrTooLarge)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": attrPK}})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return journal.ErrConflict
	}
	return err
}

// ReadStream implements journal.Streams: one strongly consistent Query.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]journal.Event, error) {
	events, err := s.readStream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("dynamojournal: read stream %s: %w", stream, err)
	}
	return events, nil
}

func (s *Store) readStream(ctx context.Context, stream string) ([]journal.Event, error) {
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: prefixStream + stream}},
		ConsistentRead:            aws.Bool(true),
	})
	var events []journal.Event
	var last int64
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range out.Items {
			seq, err := strconv.ParseInt(str(it, attrSK), 10, 64)
			if err != nil || seq != last+1 {
				return nil, fmt.Errorf("item with sort key %q follows commit %d", str(it, attrSK), last)
			}
			last = seq
			b, _ := it[attrEvents].(*types.AttributeValueMemberB)
			if b == nil {
				return nil, fmt.Errorf("commit %d has no events", seq)
			}
			evs, err := journal.DecodeEvents(b.Value, seq)
			if err != nil {
				return nil, err
			}
			events = append(events, evs...)
		}
	}
	return events, nil
}

func reviewKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: prefixReview + id},
		attrSK: &types.AttributeValueMemberS{Value: skReview},
	}
}

// reviewItem returns the table item of it in state (reviewOpen or
// reviewResolved), its index partition one of shards.
func reviewItem(it journal.ReviewItem, state string, shards int) (map[string]types.AttributeValue, error) {
	b, err := json.Marshal(it)
	if err != nil {
		return nil, err
	}
	item := reviewKey(it.ID)
	item[attrID] = &types.AttributeValueMemberS{Value: it.ID}
	item[attrStatus] = &types.AttributeValueMemberS{Value: state}
	item[attrCreated] = &types.AttributeValueMemberS{Value: fmtTime(it.Created)}
	item[attrJSON] = &types.AttributeValueMemberB{Value: b}
	item[attrGSI2PK] = &types.AttributeValueMemberS{Value: ReviewPartition(state, it.ID, shards)}
	item[attrGSI2SK] = &types.AttributeValueMemberS{Value: sortKey(it.Created, it.ID)}
	return item, nil
}

func decodeReview(item map[string]types.AttributeValue) (journal.ReviewItem, error) {
	var it journal.ReviewItem
	b, _ := item[attrJSON].(*types.AttributeValueMemberB)
	if b == nil {
		return it, fmt.Errorf("review item %s has no body", str(item, attrID))
	}
	if err := json.Unmarshal(b.Value, &it); err != nil {
		return it, fmt.Errorf("review item %s: %w", str(item, attrID), err)
	}
	return it, nil
}

// PutReview implements journal.Reviews: one PutItem, conditioned on no
// open item with the id.
func (s *Store) PutReview(ctx context.Context, it journal.ReviewItem) (bool, error) {
	if err := it.Validate(); err != nil {
		return false, fmt.Errorf("dynamojournal: put review: %w", err)
	}
	it.Resolution = nil
	item, err := reviewItem(it, reviewOpen, s.opts.shards)
	if err == nil {
		err = s.registerShards(ctx)
	}
	if err != nil {
		return false, fmt.Errorf("dynamojournal: put review %s: %w", it.ID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #st = :resolved"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#st": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":resolved": &types.AttributeValueMemberS{Value: reviewResolved}}})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamojournal: put review %s: %w", it.ID, err)
	}
	return true, nil
}

// Review implements journal.Reviews: one consistent GetItem.
func (s *Store) Review(ctx context.Context, id string) (journal.ReviewItem, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: reviewKey(id), ConsistentRead: aws.Bool(true)})
	switch {
	case err != nil:
		return journal.ReviewItem{}, fmt.Errorf("dynamojournal: review item %s: %w", id, err)
	case out.Item == nil:
		return journal.ReviewItem{}, fmt.Errorf("dynamojournal: review item %s: %w", id, journal.ErrNotFound)
	}
	it, err := decodeReview(out.Item)
	if err != nil {
		return it, fmt.Errorf("dynamojournal: %w", err)
	}
	return it, nil
}

// Reviews implements journal.Reviews: a Query of the byStatus partition of
// open or resolved items, oldest first, filtered by kind (ids start with
// it). The cursor is the last item's key.
func (s *Store) Reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	items, next, err := s.reviews(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("dynamojournal: reviews %+v: %w", q, err)
	}
	return items, next, nil
}

func (s *Store) reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	state := reviewOpen
	if q.Resolved {
		state = reviewResolved
	}
	n, err := s.cursorShards(ctx, q.Cursor)
	if err != nil {
		return nil, "", err
	}
	l := listing{ix: byStatus, name: byStatus.name, partitions: reviewPartitions(state, n), shards: n, oldest: true, itemKey: reviewKey}
	if q.Kind != "" {
		l.filterExpr, l.filterOn, l.filter = "begins_with(#f, :f)", attrID, string(q.Kind)+"/"
	}
	raw, next, err := s.list(ctx, l, journal.Query{Cursor: q.Cursor}, limit)
	if err != nil {
		return nil, "", err
	}
	items := make([]journal.ReviewItem, 0, len(raw))
	for _, r := range raw {
		it, err := decodeReview(r)
		if err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	return items, next, nil
}

// ReviewPartition is the byStatus partition key of review item id while it
// is in state ("open" or "resolved"): "RV#<state>#<shard>", sharded like
// run heads (see Shard).
func ReviewPartition(state, id string, shards int) string {
	return prefixReviewIx + state + "#" + strconv.Itoa(Shard(id, shards))
}

// reviewPartitions are the partitions a listing of review items in state
// reads: every shard, and the unsharded "RV#<state>" of items written
// before review items were sharded, last.
func reviewPartitions(state string, shards int) []string {
	return partitions(prefixReviewIx+state, shards)
}

// ResolveReview implements journal.Reviews: a consistent GetItem, then a
// PutItem of the resolved item conditioned on the item read being still
// open and not reopened since.
func (s *Store) ResolveReview(ctx context.Context, id string, r journal.Resolution) (journal.ReviewItem, error) {
	it, err := s.resolveReview(ctx, id, r)
	if err != nil {
		return it, fmt.Errorf("dynamojournal: resolve review item %s: %w", id, err)
	}
	return it, nil
}

func (s *Store) resolveReview(ctx context.Context, id string, r journal.Resolution) (journal.ReviewItem, error) {
	for {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: reviewKey(id), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return journal.ReviewItem{}, err
		}
		if out.Item == nil {
			return journal.ReviewItem{}, journal.ErrNotFound
		}
		it, err := decodeReview(out.Item)
		if err != nil {
			return it, err
		}
		if it.Resolution != nil {
			return it, fmt.Errorf("already %s: %w", it.Resolution.Action, journal.ErrConflict)
		}
		it.Resolution = &r
		item, err := reviewItem(it, reviewResolved, s.opts.shards)
		if err == nil {
			err = s.registerShards(ctx)
		}
		if err != nil {
			return it, err
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
			ConditionExpression:      aws.String("#st = :open AND #c = :created"),
			ExpressionAttributeNames: map[string]string{"#st": attrStatus, "#c": attrCreated},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":open":    &types.AttributeValueMemberS{Value: reviewOpen},
				":created": out.Item[attrCreated],
			}})
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			continue // resolved or reopened meanwhile: look again
		}
		return it, err
	}
}
