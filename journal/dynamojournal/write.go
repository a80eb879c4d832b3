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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// Append implements journal.Store.
//
// Every commit is one conditional PutItem of the commit item at sequence
// c.After+1 (attribute_not_exists): exactly one writer wins each sequence,
// and a writer whose After is stale, or a second start of a run (After 0),
// collides with the item already there and gets journal.ErrConflict. That
// c.After itself is written (so a writer ahead of the journal cannot leave a
// gap) is known without a request when this Store has loaded or written the
// run up to c.After, as the engine always has; otherwise Append first reads
// that one key (strongly consistent; commits are never deleted, so what it
// finds stays true).
//
// The first commit (c.After == 0) and a status change then move the run
// head with one UpdateItem that never moves it backwards (its seq must be
// lower than the commit's). The commit is the truth: if that head write
// fails, Append still returns the commit's sequence (the commit landed, and
// its caller must dispatch what it decided), and the Store owes the head
// write: the next Append, Since or Load of the run on this Store writes
// it, as does the next Load on any Store (Since and Load fail with
// ErrHeadPending while they cannot), and RepairHeads finds what is left.
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
	if err := c.Validate(); err != nil {
		return 0, err
	}
	at := c.At
	if at.IsZero() {
		at = s.opts.now()
	}
	status := c.Status
	if c.After == 0 && status == "" {
		status = journal.StatusRunning
	}
	tok, err := token()
	if err != nil {
		return 0, err
	}
	item, b, err := s.commitItem(c, status, at, tok)
	if err != nil {
		return 0, err
	}
	seq := c.After + 1
	if b != nil {
		if err := s.putBlob(ctx, b); err != nil {
			return 0, err
		}
	}
	if err := s.put(ctx, c, item, tok); err != nil {
		return 0, err
	}
	s.remember(c.Run, seq)
	if c.After == 0 {
		s.rememberMeta(c.Run, runMeta{workflow: c.Workflow, defHash: c.DefHash, created: fmtTime(at)})
		s.knowStatus(c.Run, 1, headState{seq: 1, status: string(status), updated: fmtTime(at)})
	} else {
		s.sawCommit(c.Run, seq, string(status), fmtTime(at))
	}
	h := s.owed(c.Run)
	if status != "" {
		h = &headState{seq: seq, status: string(status), updated: fmtTime(at)}
	}
	if h != nil {
		// The commit landed: the caller must go on to dispatch what it
		// decided, so a failed head write is owed, not an error here.
		_ = s.moveHead(ctx, c.Run, *h)
	}
	return seq, nil
}

// put writes the commit item: one PutItem conditional on its key being
// new, after reading the key of c.After when this Store does not know it
// is written.
func (s *Store) put(ctx context.Context, c journal.Commit, item map[string]types.AttributeValue, tok string) error {
	seq := c.After + 1
	if c.After > 0 && !s.knownAt(c.Run, c.After) {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:            &s.table,
			Key:                  commitKey(c.Run, c.After),
			ConsistentRead:       aws.Bool(true),
			ProjectionExpression: aws.String(attrPK),
		})
		if err != nil {
			return err
		}
		if out.Item == nil {
			return fmt.Errorf("no commit %d (the run does not exist or is behind): %w", c.After, journal.ErrConflict)
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
			return nil
		}
		if c.After == 0 {
			if wf := str(failed.Item, attrWorkflow); wf != "" {
				return fmt.Errorf("run already exists (workflow %s): %w", wf, journal.ErrConflict)
			}
			return fmt.Errorf("run already exists: %w", journal.ErrConflict)
		}
		return fmt.Errorf("commit %d already written: %w", seq, journal.ErrConflict)
	case errors.As(err, &busy):
		// Only items written by other tools' transactions can cause this.
		return fmt.Errorf("commit %d: concurrent transaction on the run: %w", seq, journal.ErrConflict)
	case err != nil:
		return err
	}
	return nil
}

// ErrHeadPending is returned (wrapped) by Since and Load when a run's
// commits are written but the write of its head, which listings read,
// failed and failed again on this call: the run may be missing from its
// status listing until a later call writes it. The journal itself is
// consistent; retrying the operation (redelivering the message that drove
// it) repairs the head.
var ErrHeadPending = errors.New("dynamojournal: run head not written")

// errNoHead reports a head write that needed the run's fixed fields to
// create the missing head item.
var errNoHead = errors.New("run head missing")

// moveHead moves the run head to h: one UpdateItem, conditioned so that it
// never moves the head backwards (a slower writer's older status loses
// quietly). It writes the whole head, creating it if missing, when this
// Store knows the run's fixed fields; otherwise it updates the moving
// fields of an existing head, and reads them from the first commit (one
// GetItem) only if the head turns out to be missing. On failure the write
// is owed (see Append) and the error returned.
func (s *Store) moveHead(ctx context.Context, run string, h headState) error {
	m := s.meta(run)
	err := s.registerShards(ctx)
	if err == nil {
		err = s.updateHead(ctx, run, h, m)
	}
	if errors.Is(err, errNoHead) {
		if m, err = s.readMeta(ctx, run); err == nil {
			s.rememberMeta(run, *m)
			err = s.updateHead(ctx, run, h, m)
		}
	}
	if err != nil {
		s.owe(run, h)
		return fmt.Errorf("head %s at commit %d: %w: %w", h.status, h.seq, err, ErrHeadPending)
	}
	s.paid(run, h.seq)
	return nil
}

// updateHead writes h to the head of run: all the head when m is known
// (creating the item if missing), the moving fields of an existing head
// otherwise (errNoHead when it is missing). A head already at h.seq or
// later is left alone and is no error.
func (s *Store) updateHead(ctx context.Context, run string, h headState, m *runMeta) error {
	k := h.updated + "#" + run
	names := map[string]string{
		"#pk": attrPK, "#status": attrStatus, "#updated": attrUpdated, "#seq": attrSeq,
		"#g2pk": attrGSI2PK, "#g1sk": attrGSI1SK, "#g2sk": attrGSI2SK,
	}
	values := map[string]types.AttributeValue{
		":status":  &types.AttributeValueMemberS{Value: h.status},
		":updated": &types.AttributeValueMemberS{Value: h.updated},
		":seq":     &types.AttributeValueMemberN{Value: strconv.FormatInt(h.seq, 10)},
		":g2pk":    &types.AttributeValueMemberS{Value: StatusPartition(journal.Status(h.status), run, s.opts.shards)},
		":k":       &types.AttributeValueMemberS{Value: k},
	}
	// A head is in byWorkflow (gsi1sk set) only once its run is settled:
	// workflow listings read unsettled runs from byStatus, so a start and
	// a status change between unsettled statuses write no byWorkflow entry.
	set := "SET #status = :status, #updated = :updated, #seq = :seq, #g2pk = :g2pk, #g2sk = :k"
	remove := " REMOVE #g1sk"
	if journal.Status(h.status).Terminal() {
		set, remove = set+", #g1sk = :k", ""
	}
	cond := "attribute_exists(#pk) AND #seq < :seq"
	if m != nil {
		set += ", #id = :id, #workflow = :workflow, #defHash = :defHash, #created = :created, #g1pk = :g1pk"
		cond = "attribute_not_exists(#pk) OR #seq < :seq"
		names["#id"], values[":id"] = attrID, &types.AttributeValueMemberS{Value: run}
		names["#workflow"], values[":workflow"] = attrWorkflow, &types.AttributeValueMemberS{Value: m.workflow}
		names["#defHash"], values[":defHash"] = attrDefHash, &types.AttributeValueMemberS{Value: m.defHash}
		names["#created"], values[":created"] = attrCreated, &types.AttributeValueMemberS{Value: m.created}
		names["#g1pk"], values[":g1pk"] = attrGSI1PK, &types.AttributeValueMemberS{Value: WorkflowPartition(m.workflow, run, s.opts.shards)}
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           &s.table,
		Key:                                 headKey(run),
		UpdateExpression:                    aws.String(set + remove),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		if failed.Item == nil {
			// Only the partial update requires an existing head.
			return errNoHead
		}
		return nil // the head is at h.seq or later already
	}
	return err
}

// readMeta reads the run's fixed head fields from its first commit.
func (s *Store) readMeta(ctx context.Context, run string) (*runMeta, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.table,
		Key:                      commitKey(run, 1),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#w, #d, #at"),
		ExpressionAttributeNames: map[string]string{"#w": attrWorkflow, "#d": attrDefHash, "#at": attrAt},
	})
	if err != nil {
		return nil, err
	}
	m := &runMeta{workflow: str(out.Item, attrWorkflow), defHash: str(out.Item, attrDefHash), created: str(out.Item, attrAt)}
	if m.workflow == "" || m.defHash == "" || m.created == "" {
		return nil, errors.New("first commit does not name the workflow")
	}
	return m, nil
}

// commitItem builds the item of commit c at sequence c.After+1, compressing
// its events when they are large and offloading them (the returned blob)
// when they are larger still and the Store has a bucket. It fails with a
// journal.TooLargeError when the events exceed the commit limit, or the
// item would not fit in DynamoDB.
//
// The first commit also holds the run's workflow and definition hash, and
// every commit that sets a status holds it, so that Load can build the
// run's head from commits alone.
func (s *Store) commitItem(c journal.Commit, status journal.Status, at time.Time, tok string) (map[string]types.AttributeValue, *blob, error) {
	events, err := journal.EncodeEvents(c.Events)
	if err != nil {
		return nil, nil, err
	}
	if len(events) > s.opts.maxCommitSize {
		return nil, nil, journal.NewTooLargeError(c, "encoded events", len(events), s.opts.maxCommitSize)
	}
	item := map[string]types.AttributeValue{
		attrPK:    &types.AttributeValueMemberS{Value: runKey(c.Run)},
		attrSK:    &types.AttributeValueMemberS{Value: seqKey(c.After + 1)},
		attrAt:    &types.AttributeValueMemberS{Value: fmtTime(at)},
		attrToken: &types.AttributeValueMemberS{Value: tok},
	}
	if c.After == 0 {
		item[attrWorkflow] = &types.AttributeValueMemberS{Value: c.Workflow}
		item[attrDefHash] = &types.AttributeValueMemberS{Value: c.DefHash}
	}
	if status != "" {
		item[attrStatus] = &types.AttributeValueMemberS{Value: string(status)}
	}
	item[attrEvents] = &types.AttributeValueMemberB{Value: events}
	if len(events) > s.opts.compressAbove {
		z, err := compress(events)
		if err != nil {
			return nil, nil, err
		}
		raw := itemSize(item)
		zipped := raw - len(events) + len(z) + len(attrZip) + len(zipGzip)
		if units(zipped) < units(raw) || (raw > 4*writeUnit && zipped < raw) {
			item[attrEvents] = &types.AttributeValueMemberB{Value: z}
			item[attrZip] = &types.AttributeValueMemberS{Value: zipGzip}
		}
	}
	b := s.offload(item)
	if n := itemSize(item); n > s.opts.maxItemSize {
		return nil, nil, journal.NewTooLargeError(c, "DynamoDB item after compression, no S3 bucket (WithS3)", n, s.opts.maxItemSize)
	}
	return item, b, nil
}

// units is the number of write units an item of n bytes is billed.
func units(n int) int { return (n + writeUnit - 1) / writeUnit }

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
