package dynamojournal

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
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
//
// The head Load returns comes from the commits: workflow, definition hash
// and Created from the first commit, Seq from the last, Status and Updated
// from the last commit that set a status. The head item only stands in for
// runs written before commits carried those fields. When the head item is
// missing or behind the commits (a writer stopped between its commit and
// its head write), Load writes it (one UpdateItem, only then) and fails
// with ErrHeadPending if that write fails.
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
		TableName: &s.table,
		// From commit 1 on: the commits, then HEAD; not the snapshot
		// (skSnapshot sorts first).
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk >= :first"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":    &types.AttributeValueMemberS{Value: runKey(run)},
			":first": &types.AttributeValueMemberS{Value: seqKey(1)},
		},
		ConsistentRead: aws.Bool(true),
	})
	var (
		item   journal.Run // the head item, if found
		found  bool
		meta   runMeta   // from the first commit
		moved  headState // from the last commit that set a status
		last   int64
		events []journal.Event
	)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return journal.Run{}, nil, err
		}
		for _, it := range out.Items {
			sk := str(it, attrSK)
			if sk == skHead {
				if item, err = decodeHead(it); err != nil {
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
			if seq == 1 {
				meta = runMeta{workflow: str(it, attrWorkflow), defHash: str(it, attrDefHash), created: str(it, attrAt)}
			}
			if st := str(it, attrStatus); st != "" {
				moved = headState{seq: seq, status: st, updated: str(it, attrAt)}
			}
			ev, err := s.decodeCommit(ctx, it, seq)
			if err != nil {
				return journal.Run{}, nil, err
			}
			events = append(events, ev...)
		}
	}
	if last == 0 {
		return journal.Run{}, nil, journal.ErrNotFound
	}
	head := item
	if meta.workflow != "" {
		s.rememberMeta(run, meta)
		head.ID, head.Workflow, head.DefHash = run, meta.workflow, meta.defHash
		created, err := time.Parse(timeLayout, meta.created)
		if err != nil {
			return journal.Run{}, nil, fmt.Errorf("commit 1: %s: %w", attrAt, err)
		}
		head.Created = created
	} else if !found {
		return journal.Run{}, nil, errors.New("no head item, and commit 1 does not name the workflow")
	}
	if !found || item.Seq < moved.seq {
		// The head item lags the commits (or commits do not carry the
		// status, as in runs written before they did: then moved.seq is 0
		// and the head item is used).
		updated, err := time.Parse(timeLayout, moved.updated)
		if err != nil {
			return journal.Run{}, nil, fmt.Errorf("commit %d: %s: %w", moved.seq, attrAt, err)
		}
		head.Status, head.Updated = journal.Status(moved.status), updated
		if err := s.moveHead(ctx, run, moved); err != nil {
			return journal.Run{}, nil, err
		}
	}
	head.Seq = last
	s.remember(run, last)
	if moved.seq > 0 {
		s.knowStatus(run, last, moved)
	}
	return head, events, nil
}

// decodeCommit decodes the events of a commit item, reading them from S3
// when they were offloaded.
func (s *Store) decodeCommit(ctx context.Context, item map[string]types.AttributeValue, seq int64) ([]journal.Event, error) {
	var data []byte
	if b, _ := item[attrEvents].(*types.AttributeValueMemberB); b != nil {
		data = b.Value
	} else if key := str(item, attrBlob); key != "" {
		var err error
		if data, err = s.getBlob(ctx, key); err != nil {
			return nil, fmt.Errorf("commit %d: %w", seq, err)
		}
	} else {
		return nil, fmt.Errorf("commit %d has no events", seq)
	}
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
