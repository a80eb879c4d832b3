package dynamojournal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The shard count is recorded in the table, so that changing it on a live
// deployment never hides a run or a review item: writers record the count
// they write with before their first index write, as the maximum ever
// used, and listings read max(their own count, the recorded one) shards.
//
//	item          pk       sk       attributes
//	------------  -------  -------  ------------------------------------------
//	shard count   CONFIG   SHARDS   shards (N): the largest count any writer
//	                                used; no index attributes
//
// Growing the count is then safe at once, and so is shrinking it: heads
// and review items written with the larger count stay listed (their
// partitions are still read), and a head moves to its shard under the new
// count at its next status change. A listing reads the recorded count at
// most once a minute per Store (one GetItem), so a reader that started
// before a larger count was recorded lists the new shards within a minute.
const (
	pkConfig   = "CONFIG"
	skShards   = "SHARDS"
	attrShards = "shards"
)

// shardsRefresh is how long a Store trusts the recorded shard count it
// read last.
const shardsRefresh = time.Minute

// shardState is what a Store knows of the recorded shard count.
type shardState struct {
	registered bool      // this Store's count is recorded (or less than the record)
	read       int       // the recorded count read last (0: none)
	readAt     time.Time // when
}

func shardsKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pkConfig},
		attrSK: &types.AttributeValueMemberS{Value: skShards},
	}
}

// registerShards records this Store's shard count in the table, unless a
// count at least as large is recorded: one conditional UpdateItem, once
// per Store. Index writes (heads, review items) call it first, so that no
// entry is ever in a shard that listings do not read.
func (s *Store) registerShards(ctx context.Context) error {
	s.shardMu.Lock()
	done := s.shard.registered
	s.shardMu.Unlock()
	if done {
		return nil
	}
	n := strconv.Itoa(s.opts.shards)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       shardsKey(),
		UpdateExpression:          aws.String("SET #n = :n"),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :n"),
		ExpressionAttributeNames:  map[string]string{"#n": attrShards},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: n}},
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("record index shard count %s: %w", n, err)
	}
	s.shardMu.Lock()
	s.shard.registered = true
	s.shardMu.Unlock()
	return nil
}

// listShards is the number of shards listings read: the larger of this
// Store's count and the count recorded in the table (read at most once
// per shardsRefresh).
func (s *Store) listShards(ctx context.Context) (int, error) {
	now := time.Now()
	s.shardMu.Lock()
	read, fresh := s.shard.read, !s.shard.readAt.IsZero() && now.Sub(s.shard.readAt) < shardsRefresh
	s.shardMu.Unlock()
	if !fresh {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:            &s.table,
			Key:                  shardsKey(),
			ProjectionExpression: aws.String(attrShards),
		})
		if err != nil {
			return 0, fmt.Errorf("read the index shard count: %w", err)
		}
		read = 0
		if v := num(out.Item, attrShards); v != "" {
			if read, err = strconv.Atoi(v); err != nil || read < 1 {
				return 0, fmt.Errorf("recorded index shard count %q is not a positive number", v)
			}
		}
		s.shardMu.Lock()
		s.shard.read, s.shard.readAt = read, now
		s.shardMu.Unlock()
	}
	return max(s.opts.shards, read), nil
}
