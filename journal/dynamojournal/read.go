package dynamojournal

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// Load implements journal.Store: one strongly consistent Query of the run's
// partition (paged by DynamoDB at 1 MB), commits in order, then the head.
// The head's Seq is the last commit read, not the head item's own seq, which
// moves only with the status.
func (s *Store) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	head, events, err := s.load(ctx, run)
	if err != nil {
		return journal.Run{}, nil, fmt.Errorf("dynamojournal: load %s: %w", run, err)
	}
	return head, events, nil
}

func (s *Store) load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	if err := ctx.Err(); err != nil {
		return journal.Run{}, nil, err
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                &s.table,
		KeyConditionExpression:   aws.String("#pk = :pk"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: runKey(run)},
		},
		ConsistentRead: aws.Bool(true),
	})
	var (
		head   journal.Run
		found  bool
		last   int64
		events []journal.Event
	)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return journal.Run{}, nil, err
		}
		for _, item := range out.Items {
			sk := str(item, attrSK)
			if sk == skHead {
				if head, err = decodeHead(item); err != nil {
					return journal.Run{}, nil, err
				}
				found = true
				continue
			}
			seq, err := strconv.ParseInt(sk, 10, 64)
			if err != nil {
				return journal.Run{}, nil, fmt.Errorf("item with sort key %q: %w", sk, err)
			}
			if seq != last+1 {
				return journal.Run{}, nil, fmt.Errorf("commit %d follows commit %d", seq, last)
			}
			last = seq
			ev, err := decodeCommit(item, seq)
			if err != nil {
				return journal.Run{}, nil, err
			}
			events = append(events, ev...)
		}
	}
	if !found {
		return journal.Run{}, nil, journal.ErrNotFound
	}
	head.Seq = last
	s.remember(run, last)
	return head, events, nil
}

func decodeCommit(item map[string]types.AttributeValue, seq int64) ([]journal.Event, error) {
	b, _ := item[attrEvents].(*types.AttributeValueMemberB)
	if b == nil {
		return nil, fmt.Errorf("commit %d has no events", seq)
	}
	data := b.Value
	switch z := str(item, attrZip); z {
	case "":
	case zipGzip:
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("commit %d: gunzip: %w", seq, err)
		}
		if data, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("commit %d: gunzip: %w", seq, err)
		}
	default:
		return nil, fmt.Errorf("commit %d: unknown compression %q", seq, z)
	}
	return journal.DecodeEvents(data, seq)
}

func decodeHead(item map[string]types.AttributeValue) (journal.Run, error) {
	r := journal.Run{
		ID:       str(item, attrID),
		Workflow: str(item, attrWorkflow),
		DefHash:  str(item, attrDefHash),
		Status:   journal.Status(str(item, attrStatus)),
	}
	var err error
	if r.Seq, err = strconv.ParseInt(num(item, attrSeq), 10, 64); err != nil {
		return r, fmt.Errorf("run %s: head seq: %w", r.ID, err)
	}
	if r.Created, err = parseTime(item, attrCreated); err != nil {
		return r, fmt.Errorf("run %s: %w", r.ID, err)
	}
	if r.Updated, err = parseTime(item, attrUpdated); err != nil {
		return r, fmt.Errorf("run %s: %w", r.ID, err)
	}
	return r, nil
}

func parseTime(item map[string]types.AttributeValue, name string) (time.Time, error) {
	t, err := time.Parse(timeLayout, str(item, name))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// str returns a string attribute, or "".
func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// num returns a number attribute as its string, or "".
func num(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}
