package dynamojournal

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

var _ journal.Snapshots = (*Store)(nil)

// skSnapshot is the sort key of a run's snapshot item in the run's
// partition. It sorts before every commit ("0…"), and Load reads from
// commit 1 on, so neither Load nor Since ever reads it; it carries no index
// attributes, so listings never see it.
const skSnapshot = "#SNAP"

// attrSnapData holds a snapshot's data (B), always gzipped (the engine's
// state compresses well), or attrBlob its S3 key when the item would be
// over the offload threshold and the Store has a bucket.
const attrSnapData = "data"

// A snapshot item also records the run's last status change at or before
// its commit, when the writing Store knows it: the seq (N), status and time
// (S) of the commit that set it. A Store that loads the run from the
// snapshot and the commits after it (Since) can then tell a lagging head
// as Load does. Snapshots written without them skip that check.
const (
	attrSnapStatusSeq = "hseq"
	attrSnapStatus    = "hst"
	attrSnapStatusAt  = "hat"
)

// PutSnapshot implements journal.Snapshots: one conditional PutItem of the
// item (RUN#<run>, #SNAP) that replaces only an older snapshot. Data is
// gzipped; with a bucket (WithS3) a snapshot whose item would be over the
// offload threshold goes to S3 like a large commit. Without one, a
// snapshot over the item limit fails with journal.ErrTooLarge.
func (s *Store) PutSnapshot(ctx context.Context, run string, seq int64, data []byte) error {
	if err := journal.ValidateSnapshot(run, seq, data); err != nil {
		return fmt.Errorf("dynamojournal: %w", err)
	}
	if err := s.putSnapshot(ctx, run, seq, data); err != nil {
		return fmt.Errorf("dynamojournal: snapshot of %s after commit %d: %w", run, seq, err)
	}
	return nil
}

func (s *Store) putSnapshot(ctx context.Context, run string, seq int64, data []byte) error {
	z, err := compress(data)
	if err != nil {
		return err
	}
	item := map[string]types.AttributeValue{
		attrPK:       &types.AttributeValueMemberS{Value: runKey(run)},
		attrSK:       &types.AttributeValueMemberS{Value: skSnapshot},
		attrSeq:      &types.AttributeValueMemberN{Value: strconv.FormatInt(seq, 10)},
		attrZip:      &types.AttributeValueMemberS{Value: zipGzip},
		attrSnapData: &types.AttributeValueMemberB{Value: z},
	}
	if st, ok := s.statusAt(run, seq); ok {
		item[attrSnapStatusSeq] = &types.AttributeValueMemberN{Value: strconv.FormatInt(st.seq, 10)}
		item[attrSnapStatus] = &types.AttributeValueMemberS{Value: st.status}
		item[attrSnapStatusAt] = &types.AttributeValueMemberS{Value: st.updated}
	}
	if err := s.offloadSnapData(ctx, item, z); err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #seq < :seq"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#seq": attrSeq},
		ExpressionAttributeValues: map[string]types.AttributeValue{":seq": item[attrSeq]},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil // a snapshot at or after seq is stored
	}
	return err
}

// LatestSnapshot implements journal.Snapshots: one strongly consistent
// GetItem (and an S3 GET when the snapshot was offloaded).
func (s *Store) LatestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	seq, data, err := s.latestSnapshot(ctx, run)
	if err != nil {
		return 0, nil, fmt.Errorf("dynamojournal: snapshot of %s: %w", run, err)
	}
	return seq, data, nil
}

func (s *Store) latestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table,
		Key: map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: runKey(run)},
			attrSK: &types.AttributeValueMemberS{Value: skSnapshot},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, nil, err
	}
	if len(out.Item) == 0 {
		return 0, nil, journal.ErrNotFound
	}
	seq, err := strconv.ParseInt(num(out.Item, attrSeq), 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("seq: %w", err)
	}
	data, err := s.itemData(ctx, out.Item)
	if err != nil {
		return 0, nil, err
	}
	if st, err := strconv.ParseInt(num(out.Item, attrSnapStatusSeq), 10, 64); err == nil && st > 0 && st <= seq {
		s.knowStatus(run, seq, headState{seq: st, status: str(out.Item, attrSnapStatus), updated: str(out.Item, attrSnapStatusAt)})
	}
	return seq, data, nil
}

// skPartPrefix starts the sort key of a run's snapshot part items (one
// per part, #PART#<key>): like the snapshot item they sort before every
// commit and carry no index attributes.
const skPartPrefix = "#PART#"

// PutSnapshotPart implements journal.Snapshots: one PutItem of the item
// (RUN#<run>, #PART#<key>) if it does not exist yet, gzipped, offloaded to
// S3 like a snapshot when it would be over the offload threshold.
func (s *Store) PutSnapshotPart(ctx context.Context, run, key string, data []byte) error {
	if err := journal.ValidateSnapshotPart(run, key, data); err != nil {
		return fmt.Errorf("dynamojournal: %w", err)
	}
	if err := s.putPart(ctx, run, key, data); err != nil {
		return fmt.Errorf("dynamojournal: snapshot part %s of %s: %w", key, run, err)
	}
	return nil
}

func (s *Store) putPart(ctx context.Context, run, key string, data []byte) error {
	z, err := compress(data)
	if err != nil {
		return err
	}
	item := map[string]types.AttributeValue{
		attrPK:       &types.AttributeValueMemberS{Value: runKey(run)},
		attrSK:       &types.AttributeValueMemberS{Value: skPartPrefix + key},
		attrZip:      &types.AttributeValueMemberS{Value: zipGzip},
		attrSnapData: &types.AttributeValueMemberB{Value: z},
	}
	if err := s.offloadSnapData(ctx, item, z); err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &s.table,
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil // stored already: a key always names the same data
	}
	return err
}

// SnapshotPart implements journal.Snapshots: one GetItem (parts never
// change once written, so an eventually consistent read that finds the
// item is current; one that does not is retried consistently), and an S3
// GET when the part was offloaded.
func (s *Store) SnapshotPart(ctx context.Context, run, key string) ([]byte, error) {
	data, err := s.part(ctx, run, key)
	if err != nil {
		return nil, fmt.Errorf("dynamojournal: snapshot part %s of %s: %w", key, run, err)
	}
	return data, nil
}

func (s *Store) part(ctx context.Context, run, key string) ([]byte, error) {
	get := func(consistent bool) (map[string]types.AttributeValue, error) {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: &s.table,
			Key: map[string]types.AttributeValue{
				attrPK: &types.AttributeValueMemberS{Value: runKey(run)},
				attrSK: &types.AttributeValueMemberS{Value: skPartPrefix + key},
			},
			ConsistentRead: aws.Bool(consistent),
		})
		if err != nil {
			return nil, err
		}
		return out.Item, nil
	}
	item, err := get(false)
	if err == nil && len(item) == 0 {
		item, err = get(true)
	}
	if err != nil {
		return nil, err
	}
	if len(item) == 0 {
		return nil, journal.ErrNotFound
	}
	return s.itemData(ctx, item)
}

// itemData returns the gunzipped data of a snapshot or part item, from
// the item or its S3 blob.
func (s *Store) itemData(ctx context.Context, item map[string]types.AttributeValue) ([]byte, error) {
	var z []byte
	if b, _ := item[attrSnapData].(*types.AttributeValueMemberB); b != nil {
		z = b.Value
	} else if key := str(item, attrBlob); key != "" {
		var err error
		if z, err = s.getBlob(ctx, key); err != nil {
			return nil, err
		}
	} else {
		return nil, errors.New("item has no data")
	}
	if zip := str(item, attrZip); zip != zipGzip {
		return nil, fmt.Errorf("unknown compression %q", zip)
	}
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	return data, nil
}

// offloadSnapData moves the gzipped data z of a snapshot or snapshot part
// item to S3 when the item is over the offload threshold and the Store has
// a bucket, leaving the blob's key in the item; without a bucket an item
// over DynamoDB's limit is journal.ErrTooLarge.
func (s *Store) offloadSnapData(ctx context.Context, item map[string]types.AttributeValue, z []byte) error {
	n := itemSize(item)
	switch {
	case s.opts.s3 != nil && n > min(s.opts.offloadAbove, s.opts.maxItemSize):
		b := &blob{body: z, key: blobKey(z)}
		if err := s.putBlob(ctx, b); err != nil {
			return err
		}
		delete(item, attrSnapData)
		item[attrBlob] = &types.AttributeValueMemberS{Value: b.key}
	case n > s.opts.maxItemSize:
		return fmt.Errorf("%d bytes gzipped, item limit %d, no S3 bucket (WithS3): %w", len(z), s.opts.maxItemSize, journal.ErrTooLarge)
	}
	return nil
}
