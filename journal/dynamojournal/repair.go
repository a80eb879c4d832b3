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

// unsettled are the statuses a lagging head can be in: a head lags a
// status change, and no status changes out of a terminal one.
var unsettled = []journal.Status{journal.StatusRunning, journal.StatusWaiting, journal.StatusReview, journal.StatusDeferred}

// RepairHeads writes the heads of runs whose head lags their commits, and
// returns how many it found. A failed head write makes Append, Since and
// Load fail until a retry writes it (see ErrHeadPending), so messages
// redelivered by the queues repair heads on their own; RepairHeads is for
// what redelivery gave up on, such as messages moved to a dead-letter
// queue during an outage. It lists the heads in the unsettled statuses
// (running, waiting, review, deferred: a lagging head is in the status its
// run left, never in a terminal one) and, for each, reads the commits
// after the head's seq, keeping those that set a status. Its cost is one
// index read per unsettled run plus one Query of each such run's commits
// since its last status change; it writes only lagging heads. A run whose
// very first head write was lost has no head to list: the next start of
// it (a conflict) or any Load writes it.
func (s *Store) RepairHeads(ctx context.Context) (int, error) {
	n := 0
	for _, st := range unsettled {
		q := journal.Query{Status: st, Limit: maxLimit}
		for {
			heads, next, err := s.Runs(ctx, q)
			if err != nil {
				return n, fmt.Errorf("dynamojournal: repair heads: %w", err)
			}
			for _, h := range heads {
				moved, err := s.repairHead(ctx, h)
				if err != nil {
					return n, fmt.Errorf("dynamojournal: repair head of %s: %w", h.ID, err)
				}
				if moved {
					n++
				}
			}
			if next == "" {
				break
			}
			q.Cursor = next
		}
	}
	return n, nil
}

// repairHead moves h to the last commit after h.Seq that set a status, if
// there is one.
func (s *Store) repairHead(ctx context.Context, h journal.Run) (bool, error) {
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                &s.table,
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		FilterExpression:         aws.String("attribute_exists(#st)"),
		ProjectionExpression:     aws.String("#sk, #st, #at"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK, "#st": attrStatus, "#at": attrAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: runKey(h.ID)},
			":from": &types.AttributeValueMemberS{Value: seqKey(h.Seq + 1)},
			":to":   &types.AttributeValueMemberS{Value: seqKey(math.MaxInt64)},
		},
		ConsistentRead: aws.Bool(true),
	})
	var last *headState
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, err
		}
		for _, it := range out.Items {
			seq, err := strconv.ParseInt(str(it, attrSK), 10, 64)
			if err != nil {
				return false, fmt.Errorf("commit %q: %w", str(it, attrSK), err)
			}
			last = &headState{seq: seq, status: str(it, attrStatus), updated: str(it, attrAt)}
		}
	}
	if last == nil {
		return false, nil
	}
	return true, s.moveHead(ctx, h.ID, *last)
}
