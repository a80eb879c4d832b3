package dynamojournal

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// Since implements journal.Store: one strongly consistent Query of the
// commits after after (usually none or a few) and the run's head item,
// not the whole run. It also writes a head this Store owes for the run
// (see Append), and, as Load does, a head that lags the commits when the
// Store knows the run's last status change (it loaded the run, or read
// its snapshot, which records it, and every commit since): so a cold
// process that loads a run from its snapshot repairs a head left behind by
// a writer that stopped. It fails with ErrHeadPending while that write
// fails.
func (s *Store) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName: &s.table,
		// The commits after after, then HEAD (it sorts after them).
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: runKey(run)},
			":from": &types.AttributeValueMemberS{Value: seqKey(max(after, 0) + 1)},
			":to":   &types.AttributeValueMemberS{Value: skHead},
		},
		ConsistentRead: aws.Bool(true),
	})
	var events []journal.Event
	var head map[string]types.AttributeValue
	want := max(after, 0) + 1
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamojournal: since %s after %d: %w", run, after, err)
		}
		for _, it := range out.Items {
			if str(it, attrSK) == skHead {
				head = it
				continue
			}
			seq, err := strconv.ParseInt(str(it, attrSK), 10, 64)
			if err != nil || seq != want {
				return nil, fmt.Errorf("dynamojournal: since %s: commit %q where %d was expected", run, str(it, attrSK), want)
			}
			want++
			s.sawCommit(run, seq, str(it, attrStatus), str(it, attrAt))
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
	h := s.owed(run)
	if st, ok := s.statusAt(run, want-1); ok && headLags(head, st) && (h == nil || h.seq < st.seq) {
		h = &st
	}
	if h != nil {
		if err := s.moveHead(ctx, run, *h); err != nil {
			return nil, fmt.Errorf("dynamojournal: since %s after %d: %w", run, after, err)
		}
	}
	return events, nil
}

// headLags reports whether the head item (nil when missing) is behind st,
// the run's last status change.
func headLags(head map[string]types.AttributeValue, st headState) bool {
	if head == nil {
		return true
	}
	seq, err := strconv.ParseInt(num(head, attrSeq), 10, 64)
	return err != nil || seq < st.seq
}
