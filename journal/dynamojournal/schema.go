package dynamojournal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names. They are persisted: never rename one. The table's key
// and every index key are strings (S).
const (
	attrPK = "pk" // table partition key
	attrSK = "sk" // table sort key

	// Commit items.
	attrEvents = "ev"   // B: journal.EncodeEvents, gzip-compressed when attrZip is set
	attrZip    = "z"    // S: "gzip" when attrEvents is compressed; absent otherwise
	attrAt     = "at"   // S: commit time (timeLayout)
	attrToken  = "tok"  // S: random per Append call, to recognise our own retried write
	attrBlob   = "blob" // S: S3 key holding the events in place of attrEvents (see WithS3)

	// Run heads. The first commit of a run also holds workflow and defHash,
	// and every commit that sets the status holds status.
	attrID       = "id"
	attrWorkflow = "workflow"
	attrDefHash  = "defHash"
	attrStatus   = "status"
	attrSeq      = "seq" // N: the commit that set status (lags the run's last commit)
	attrCreated  = "created"
	attrUpdated  = "updated"

	// Definitions.
	attrHash    = "hash"
	attrName    = "name"
	attrVersion = "version"
	attrJSON    = "json" // B

	// Index keys.
	attrGSI1PK = "gsi1pk"
	attrGSI1SK = "gsi1sk"
	attrGSI2PK = "gsi2pk"
	attrGSI2SK = "gsi2sk"
	// gsi3pk and gsi3sk keyed the index "all", since removed; items written
	// before still carry them ("RUNS" or "DEFS", "<time>#<id or hash>"), so
	// never give those names another meaning.
)

// Global secondary index names. They project only what listings read (see
// runAttrs and defAttrs), so that a status change rewrites small index
// entries.
const (
	// IndexByWorkflow lists run heads by workflow (gsi1pk
	// "WF#<workflow>#<shard>", see WorkflowPartition) and definitions by
	// name (gsi1pk "DEFNAME#<name>"); gsi1sk is "<time>#<id or hash>".
	IndexByWorkflow = "byWorkflow"
	// IndexByStatus lists run heads by status (gsi2pk
	// "ST#<status>#<shard>", see StatusPartition; gsi2sk "<updated>#<id>")
	// and every definition (gsi2pk "DEFS", gsi2sk "<created>#<hash>"). The
	// review queue is the shards of ST#review; a listing of all runs merges
	// the shards of every status.
	IndexByStatus = "byStatus"
)

// Key values.
const (
	prefixRun     = "RUN#"
	prefixDef     = "DEF#"
	prefixWF      = "WF#"
	prefixStatus  = "ST#"
	prefixDefName = "DEFNAME#"
	skHead        = "HEAD"
	skDef         = "DEF"
	allDefs       = "DEFS"
	zipGzip       = "gzip"
)

// runAttrs are the run head attributes listings read (decodeHead); both
// indexes project them.
var runAttrs = []string{attrID, attrWorkflow, attrDefHash, attrStatus, attrSeq, attrCreated, attrUpdated}

// defAttrs are the definition attributes Definitions reads
// (decodeDefinition); both indexes list definitions and project them too.
// Run heads do not carry them, so their index entries stay small;
// definitions are written once per version, so projecting their JSON
// costs little.
var defAttrs = []string{attrHash, attrName, attrVersion, attrJSON}

// seqWidth is the width of a commit's zero-padded sort key: every int64 fits,
// so string order is numeric order, and "HEAD" sorts after every commit.
const seqWidth = 19

// timeLayout is how instants are stored: UTC, fixed width, so that string
// order is time order in index sort keys.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func seqKey(seq int64) string               { return fmt.Sprintf("%0*d", seqWidth, seq) }
func runKey(run string) string              { return prefixRun + run }
func defKey(hash string) string             { return prefixDef + hash }
func fmtTime(t time.Time) string            { return t.UTC().Format(timeLayout) }
func sortKey(t time.Time, id string) string { return fmtTime(t) + "#" + id }

// TableSchema returns the definition of a journal table named table:
// on-demand billing, key pk (S, hash) and sk (S, range), and the two
// global secondary indexes byWorkflow (gsi1pk, gsi1sk) and byStatus
// (gsi2pk, gsi2sk), all keys strings. Both indexes project INCLUDE the run
// head attributes listings read (id, workflow, defHash, status, seq,
// created, updated) and the definition attributes (hash, name, version,
// json). A SAM or CloudFormation template must declare the same table.
func TableSchema(table string) *dynamodb.CreateTableInput {
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(name, hash, rng string, attrs ...[]string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(name),
			KeySchema: key(hash, rng),
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionTypeInclude,
				NonKeyAttributes: slices.Concat(attrs...),
			},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			str(attrPK), str(attrSK),
			str(attrGSI1PK), str(attrGSI1SK),
			str(attrGSI2PK), str(attrGSI2SK),
		},
		KeySchema: key(attrPK, attrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(IndexByWorkflow, attrGSI1PK, attrGSI1SK, runAttrs, defAttrs),
			gsi(IndexByStatus, attrGSI2PK, attrGSI2SK, runAttrs, defAttrs),
		},
	}
}

// CreateTable creates a journal table named table (see TableSchema) and
// waits until it is active. A table that already exists is left as it is.
// It is meant for tests and the local stack; production tables come from
// the deployment template.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, TableSchema(table))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamojournal: create table %s: %w", table, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return fmt.Errorf("dynamojournal: create table %s: %w", table, err)
	}
	return nil
}
