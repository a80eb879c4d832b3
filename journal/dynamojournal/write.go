package dynamojournal

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// Append implements journal.Store.
//
// A commit that does not change the run's status (c.Status empty, c.After >
// 0) is one conditional PutItem of the commit item at sequence c.After+1:
// a writer whose After is stale collides with the item another writer put
// there and gets journal.ErrConflict. That c.After itself is written (so a
// writer ahead of the journal cannot leave a gap) is known without a request
// when this Store has loaded or written the run up to c.After, as the engine
// always has; otherwise Append first reads that one key (strongly
// consistent; commits are never deleted, so what it finds stays true).
//
// The first commit (c.After == 0) and a status change write the commit and
// the run head together with TransactWriteItems.
func (s *Store) Append(ctx context.Context, c journal.Commit) (int64, error) {
	seq, err := s.append(ctx, c)
	if err != nil {
		return 0, fmt.Errorf("dynamojournal: append %s after %d: %w", c.Run, c.After, err)
	}
	return seq, nil
}

func (s *Store) append(ctx context.Context, c journal.Commit) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	switch {
	case c.Run == "":
		return 0, errors.New("commit has no run id")
	case len(c.Events) == 0:
		return 0, errors.New("commit has no events")
	case c.After < 0:
		return 0, fmt.Errorf("negative sequence: %w", journal.ErrConflict)
	case c.After == 0 && (c.Workflow == "" || c.DefHash == ""):
		return 0, errors.New("first commit needs Workflow and DefHash")
	}
	at := c.At
	if at.IsZero() {
		at = s.opts.now()
	}
	tok, err := token()
	if err != nil {
		return 0, err
	}
	item, err := s.commitItem(c, at, tok)
	if err != nil {
		return 0, err
	}
	switch {
	case c.After == 0:
		return s.start(ctx, c, at, item)
	case c.Status != "":
		return s.move(ctx, c, at, item)
	default:
		return s.put(ctx, c, item, tok)
	}
}

// put writes a commit that leaves the head alone: one PutItem.
func (s *Store) put(ctx context.Context, c journal.Commit, item map[string]types.AttributeValue, tok string) (int64, error) {
	seq := c.After + 1
	if !s.knownAt(c.Run, c.After) {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:            &s.table,
			Key:                  commitKey(c.Run, c.After),
			ConsistentRead:       aws.Bool(true),
			ProjectionExpression: aws.String(attrPK),
		})
		if err != nil {
			return 0, err
		}
		if out.Item == nil {
			return 0, fmt.Errorf("no commit %d (the run does not exist or is behind): %w", c.After, journal.ErrConflict)
		}
		s.remember(c.Run, c.After)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(" + attrPK + ")"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	var busy *types.TransactionConflictException
	switch {
	case errors.As(err, &failed):
		s.remember(c.Run, seq)
		// An SDK retry of our own write that had landed finds our item.
		if str(failed.Item, attrToken) == tok {
			return seq, nil
		}
		return 0, fmt.Errorf("commit %d already written: %w", seq, journal.ErrConflict)
	case errors.As(err, &busy):
		return 0, fmt.Errorf("commit %d: concurrent transaction on the run: %w", seq, journal.ErrConflict)
	case err != nil:
		return 0, err
	}
	s.remember(c.Run, seq)
	return seq, nil
}

// start creates the run: the first commit and the head, in one transaction.
func (s *Store) start(ctx context.Context, c journal.Commit, at time.Time, item map[string]types.AttributeValue) (int64, error) {
	status := c.Status
	if status == "" {
		status = journal.StatusRunning
	}
	ts := fmtTime(at)
	k := sortKey(at, c.Run)
	head := map[string]types.AttributeValue{
		attrPK:       &types.AttributeValueMemberS{Value: runKey(c.Run)},
		attrSK:       &types.AttributeValueMemberS{Value: skHead},
		attrID:       &types.AttributeValueMemberS{Value: c.Run},
		attrWorkflow: &types.AttributeValueMemberS{Value: c.Workflow},
		attrDefHash:  &types.AttributeValueMemberS{Value: c.DefHash},
		attrStatus:   &types.AttributeValueMemberS{Value: string(status)},
		attrSeq:      &types.AttributeValueMemberN{Value: "1"},
		attrCreated:  &types.AttributeValueMemberS{Value: ts},
		attrUpdated:  &types.AttributeValueMemberS{Value: ts},
		attrGSI1PK:   &types.AttributeValueMemberS{Value: prefixWF + c.Workflow},
		attrGSI1SK:   &types.AttributeValueMemberS{Value: k},
		attrGSI2PK:   &types.AttributeValueMemberS{Value: prefixStatus + string(status)},
		attrGSI2SK:   &types.AttributeValueMemberS{Value: k},
		attrGSI3PK:   &types.AttributeValueMemberS{Value: allRuns},
		attrGSI3SK:   &types.AttributeValueMemberS{Value: k},
	}
	notExists := aws.String("attribute_not_exists(" + attrPK + ")")
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: notExists}},
			{Put: &types.Put{TableName: &s.table, Item: head, ConditionExpression: notExists,
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		},
	})
	if err != nil {
		return 0, s.cancelled(c, err, func(i int, old map[string]types.AttributeValue) string {
			if i == 1 && old != nil {
				return fmt.Sprintf("run already exists (workflow %s, status %s)", str(old, attrWorkflow), str(old, attrStatus))
			}
			return "run already exists"
		})
	}
	s.remember(c.Run, 1)
	return 1, nil
}

// move writes a commit that changes the run's status: the commit and the
// head, in one transaction.
func (s *Store) move(ctx context.Context, c journal.Commit, at time.Time, item map[string]types.AttributeValue) (int64, error) {
	seq := c.After + 1
	k := sortKey(at, c.Run)
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")")}},
		{Update: &types.Update{
			TableName: &s.table,
			Key:       headKey(c.Run),
			UpdateExpression: aws.String("SET #status = :status, #updated = :updated, #seq = :seq, " +
				"#g2pk = :g2pk, #g1sk = :k, #g2sk = :k, #g3sk = :k"),
			ConditionExpression: aws.String("attribute_exists(#pk) AND #seq < :seq"),
			ExpressionAttributeNames: map[string]string{
				"#pk": attrPK, "#status": attrStatus, "#updated": attrUpdated, "#seq": attrSeq,
				"#g2pk": attrGSI2PK, "#g1sk": attrGSI1SK, "#g2sk": attrGSI2SK, "#g3sk": attrGSI3SK,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":status":  &types.AttributeValueMemberS{Value: string(c.Status)},
				":updated": &types.AttributeValueMemberS{Value: fmtTime(at)},
				":seq":     &types.AttributeValueMemberN{Value: strconv.FormatInt(seq, 10)},
				":g2pk":    &types.AttributeValueMemberS{Value: prefixStatus + string(c.Status)},
				":k":       &types.AttributeValueMemberS{Value: k},
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}
	if !s.knownAt(c.Run, c.After) {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName:           &s.table,
			Key:                 commitKey(c.Run, c.After),
			ConditionExpression: aws.String("attribute_exists(" + attrPK + ")"),
		}})
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil {
		return 0, s.cancelled(c, err, func(i int, old map[string]types.AttributeValue) string {
			switch {
			case i == 0:
				s.remember(c.Run, seq)
				return fmt.Sprintf("commit %d already written", seq)
			case i == 1 && old == nil:
				return "run does not exist"
			case i == 1:
				return fmt.Sprintf("run head at seq %s", num(old, attrSeq))
			default:
				return fmt.Sprintf("no commit %d (the run is behind)", c.After)
			}
		})
	}
	s.remember(c.Run, seq)
	return seq, nil
}

// cancelled maps a failed TransactWriteItems to journal.ErrConflict when a
// condition failed or another transaction held an item, naming the failed
// condition with why(index, old item).
func (s *Store) cancelled(c journal.Commit, err error, why func(int, map[string]types.AttributeValue) string) error {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return fmt.Errorf("%s: %w", why(i, r.Item), journal.ErrConflict)
			}
		}
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return fmt.Errorf("concurrent transaction on the run: %w", journal.ErrConflict)
			}
		}
		return err
	}
	var busy *types.TransactionConflictException
	if errors.As(err, &busy) {
		return fmt.Errorf("concurrent transaction on the run: %w", journal.ErrConflict)
	}
	return err
}

// commitItem builds the item of commit c at sequence c.After+1, compressing
// its events when they are large, and fails with journal.ErrTooLarge when
// the item would not fit in DynamoDB.
func (s *Store) commitItem(c journal.Commit, at time.Time, tok string) (map[string]types.AttributeValue, error) {
	events, err := journal.EncodeEvents(c.Events)
	if err != nil {
		return nil, err
	}
	item := map[string]types.AttributeValue{
		attrPK:    &types.AttributeValueMemberS{Value: runKey(c.Run)},
		attrSK:    &types.AttributeValueMemberS{Value: seqKey(c.After + 1)},
		attrAt:    &types.AttributeValueMemberS{Value: fmtTime(at)},
		attrToken: &types.AttributeValueMemberS{Value: tok},
	}
	if len(events) > s.opts.compressAbove {
		z, err := compress(events)
		if err != nil {
			return nil, err
		}
		if len(z) < len(events) {
			events = z
			item[attrZip] = &types.AttributeValueMemberS{Value: zipGzip}
		}
	}
	item[attrEvents] = &types.AttributeValueMemberB{Value: events}
	if n := itemSize(item); n > s.opts.maxItemSize {
		return nil, fmt.Errorf("commit %d (%d events, steps %s) is a %d-byte item after compression, limit %d: %w",
			c.After+1, len(c.Events), steps(c.Events), n, s.opts.maxItemSize, journal.ErrTooLarge)
	}
	return item, nil
}

// steps names the steps a commit's events are about, for error messages.
func steps(events []journal.Event) string {
	var names []string
	seen := map[string]bool{}
	for _, e := range events {
		if e.Step != "" && !seen[e.Step] {
			seen[e.Step] = true
			names = append(names, e.Step)
		}
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// itemSize is an item's size as DynamoDB counts it for the 400 KB limit:
// attribute names plus values (numbers are counted at their string length,
// which is never less than their stored size).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberB:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)
		default:
			n += 1
		}
	}
	return n
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return w
}}

func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b) / 3)
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return buf.Bytes(), nil
}

// token returns a random id for one Append call.
func token() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func commitKey(run string, seq int64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: runKey(run)},
		attrSK: &types.AttributeValueMemberS{Value: seqKey(seq)},
	}
}

func headKey(run string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: runKey(run)},
		attrSK: &types.AttributeValueMemberS{Value: skHead},
	}
}
