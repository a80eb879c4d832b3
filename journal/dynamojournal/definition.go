package dynamojournal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// PutDefinition implements journal.Store with a PutItem conditional on the
// hash being new: storing a hash again changes nothing.
func (s *Store) PutDefinition(ctx context.Context, d journal.Definition) error {
	if err := s.putDefinition(ctx, d); err != nil {
		return fmt.Errorf("dynamojournal: put definition %s: %w", d.Hash, err)
	}
	return nil
}

func (s *Store) putDefinition(ctx context.Context, d journal.Definition) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.Hash == "" || d.Name == "" {
		return errors.New("definition needs a hash and a name")
	}
	k := sortKey(d.Created, d.Hash)
	item := map[string]types.AttributeValue{
		attrPK:      &types.AttributeValueMemberS{Value: defKey(d.Hash)},
		attrSK:      &types.AttributeValueMemberS{Value: skDef},
		attrHash:    &types.AttributeValueMemberS{Value: d.Hash},
		attrName:    &types.AttributeValueMemberS{Value: d.Name},
		attrVersion: &types.AttributeValueMemberS{Value: d.Version},
		attrJSON:    &types.AttributeValueMemberB{Value: d.JSON},
		attrCreated: &types.AttributeValueMemberS{Value: fmtTime(d.Created)},
		attrGSI1PK:  &types.AttributeValueMemberS{Value: prefixDefName + d.Name},
		attrGSI1SK:  &types.AttributeValueMemberS{Value: k},
		attrGSI2PK:  &types.AttributeValueMemberS{Value: allDefs},
		attrGSI2SK:  &types.AttributeValueMemberS{Value: k},
	}
	if d.JSON == nil {
		delete(item, attrJSON) // DynamoDB rejects empty binary values
	}
	if n := itemSize(item); n > s.opts.maxItemSize {
		return fmt.Errorf("a %d-byte item, limit %d: %w", n, s.opts.maxItemSize, journal.ErrTooLarge)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	})
	var exists *types.ConditionalCheckFailedException
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

// Definition implements journal.Store with a strongly consistent GetItem.
func (s *Store) Definition(ctx context.Context, hash string) (journal.Definition, error) {
	if err := ctx.Err(); err != nil {
		return journal.Definition{}, fmt.Errorf("dynamojournal: definition %s: %w", hash, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table,
		Key: map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: defKey(hash)},
			attrSK: &types.AttributeValueMemberS{Value: skDef},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err == nil && out.Item == nil {
		err = journal.ErrNotFound
	}
	var d journal.Definition
	if err == nil {
		d, err = decodeDefinition(out.Item)
	}
	if err != nil {
		return journal.Definition{}, fmt.Errorf("dynamojournal: definition %s: %w", hash, err)
	}
	return d, nil
}

// Definitions implements journal.Store, reading index byWorkflow (gsi1pk
// "DEFNAME#<name>") or, with no name, index byStatus (gsi2pk "DEFS"), newest
// first. Like listings of runs, it may miss a definition stored a moment
// ago.
func (s *Store) Definitions(ctx context.Context, name string) ([]journal.Definition, error) {
	defs, err := s.definitions(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("dynamojournal: definitions %q: %w", name, err)
	}
	return defs, nil
}

func (s *Store) definitions(ctx context.Context, name string) ([]journal.Definition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix, pk := byStatus, allDefs
	if name != "" {
		ix, pk = byWorkflow, prefixDefName+name
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                &s.table,
		IndexName:                aws.String(ix.name),
		KeyConditionExpression:   aws.String("#pk = :pk"),
		ExpressionAttributeNames: map[string]string{"#pk": ix.pk},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk},
		},
		ScanIndexForward: aws.Bool(false),
	})
	var defs []journal.Definition
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, item := range out.Items {
			d, err := decodeDefinition(item)
			if err != nil {
				return nil, err
			}
			defs = append(defs, d)
		}
	}
	return defs, nil
}

func decodeDefinition(item map[string]types.AttributeValue) (journal.Definition, error) {
	d := journal.Definition{
		Hash:    str(item, attrHash),
		Name:    str(item, attrName),
		Version: str(item, attrVersion),
	}
	if b, ok := item[attrJSON].(*types.AttributeValueMemberB); ok {
		d.JSON = b.Value
	}
	var err error
	if d.Created, err = parseTime(item, attrCreated); err != nil {
		return d, fmt.Errorf("definition %s: %w", d.Hash, err)
	}
	return d, nil
}
