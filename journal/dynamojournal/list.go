package dynamojournal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// defaultLimit and maxLimit bound a page of Runs.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// index describes one GSI: its name and key attributes.
type index struct {
	name, pk, sk string
}

var (
	byWorkflow = index{IndexByWorkflow, attrGSI1PK, attrGSI1SK}
	byStatus   = index{IndexByStatus, attrGSI2PK, attrGSI2SK}
	all        = index{IndexAll, attrGSI3PK, attrGSI3SK}
)

// Runs implements journal.Store. It queries one index, newest first:
// byWorkflow when q names a workflow, byStatus when it names a status, all
// when it names neither. With both, it queries byStatus and filters on the
// workflow when the status is not terminal (few runs are running, waiting or
// in review), else byWorkflow filtering on the status. Since (inclusive) and
// Until (exclusive) are key conditions on the index sort key. Listings read
// indexes, which DynamoDB updates asynchronously: a run may show up in them
// a moment after its append returned, and Seq in listed heads lags (it is
// the seq of the last status change).
func (s *Store) Runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	runs, cursor, err := s.runs(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("dynamojournal: runs %+v: %w", q, err)
	}
	return runs, cursor, nil
}

func (s *Store) runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)

	ix, pk := all, allRuns
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var filter string
	switch {
	case q.Workflow != "" && q.Status != "" && !q.Status.Terminal():
		ix, pk = byStatus, prefixStatus+string(q.Status)
		filter, names["#f"], values[":f"] = "#f = :f", attrWorkflow, &types.AttributeValueMemberS{Value: q.Workflow}
	case q.Workflow != "" && q.Status != "":
		ix, pk = byWorkflow, prefixWF+q.Workflow
		filter, names["#f"], values[":f"] = "#f = :f", attrStatus, &types.AttributeValueMemberS{Value: string(q.Status)}
	case q.Workflow != "":
		ix, pk = byWorkflow, prefixWF+q.Workflow
	case q.Status != "":
		ix, pk = byStatus, prefixStatus+string(q.Status)
	}
	names["#pk"] = ix.pk
	values[":pk"] = &types.AttributeValueMemberS{Value: pk}
	cond := "#pk = :pk"
	since, until := !q.Since.IsZero(), !q.Until.IsZero()
	switch {
	case since && until:
		if !q.Since.Before(q.Until) {
			return nil, "", nil
		}
		cond += " AND #sk BETWEEN :lo AND :hi"
	case since:
		cond += " AND #sk >= :lo"
	case until:
		cond += " AND #sk < :hi"
	}
	if since || until {
		names["#sk"] = ix.sk
	}
	if since {
		values[":lo"] = &types.AttributeValueMemberS{Value: fmtTime(q.Since)}
	}
	if until {
		values[":hi"] = &types.AttributeValueMemberS{Value: fmtTime(q.Until)}
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(ix.name),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
	}
	if filter != "" {
		in.FilterExpression = aws.String(filter)
	}
	if q.Cursor != "" {
		start, err := decodeCursor(q.Cursor, ix)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}

	var runs []journal.Run
	for {
		// Ask for one more than needed, to know whether a next page exists;
		// with a filter, ask for more, as DynamoDB applies Limit before it.
		page := limit - len(runs) + 1
		if filter != "" {
			page = max(page, 50)
		}
		in.Limit = aws.Int32(int32(min(page, maxLimit)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", err
		}
		for i, item := range out.Items {
			if len(runs) == limit {
				// More items follow: the next page starts after the last
				// run returned.
				return runs, encodeCursor(ix, out.Items[i-1]), nil
			}
			r, err := decodeHead(item)
			if err != nil {
				return nil, "", err
			}
			runs = append(runs, r)
		}
		if out.LastEvaluatedKey == nil {
			return runs, "", nil
		}
		if len(runs) == limit {
			return runs, encodeCursor(ix, out.LastEvaluatedKey), nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// cursor is a page position: the index it belongs to and the key of the
// last item read, as DynamoDB's ExclusiveStartKey (the table and index key
// attributes, all strings).
type cursor struct {
	Index string            `json:"i"`
	Key   map[string]string `json:"k"`
}

// encodeCursor encodes the position after item (an item of ix, or a
// LastEvaluatedKey of a query on ix) as a cursor.
func encodeCursor(ix index, item map[string]types.AttributeValue) string {
	c := cursor{Index: ix.name, Key: map[string]string{}}
	for _, k := range []string{attrPK, attrSK, ix.pk, ix.sk} {
		c.Key[k] = str(item, k)
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, ix index) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid cursor: %w", err)
	}
	want := []string{attrPK, attrSK, ix.pk, ix.sk}
	slices.Sort(want)
	if c.Index != ix.name || !slices.Equal(slices.Sorted(maps.Keys(c.Key)), want) {
		return nil, errors.New("invalid cursor: it belongs to another query")
	}
	key := map[string]types.AttributeValue{}
	for k, v := range c.Key {
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}
