package dynamojournal

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// Since implements journal.Store: one strongly consistent Query of the
// commits after after (usually none or a few), not the whole run. It also
// writes a head this Store owes for the run (see Append), and fails with
// ErrHeadPending while it cannot.
func (s *Store) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                &s.table,
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: runKey(run)},
			":from": &types.AttributeValueMemberS{Value: seqKey(max(after, 0) + 1)},
			":to":   &types.AttributeValueMemberS{Value: seqKey(math.MaxInt64)},
		},
		ConsistentRead: aws.Bool(true),
	})
	var events []journal.Event
	want := max(after, 0) + 1
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamojournal: since %s after %d: %w", run, after, err)
		}
		for _, it := range out.Items {
			seq, err := strconv.ParseInt(str(it, attrSK), 10, 64)
			if err != nil || seq != want {
				return nil, fmt.Errorf("dynamojournal: since %s: commit %q where %d was expected", run, str(it, attrSK), want)
			}
			want++
			ev, err := s.decodeCommit(ctx, it, seq)
			if err != nil {
				return nil, fmt.Errorf("dynamojournal: since %s: %w", run, err)
			}
			events = append(events, ev...)
		}
	}
	if want > after+1 {
		s.remember(run, want-1)
	}
	if h := s.owed(run); h != nil {
		if err := s.moveHead(ctx, run, *h); err != nil {
			return nil, fmt.Errorf("dynamojournal: since %s after %d: %w", run, after, err)
		}
	}
	return events, nil
}
