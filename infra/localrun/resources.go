package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	cfddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	cfkinesis "github.com/awslabs/goformation/v7/cloudformation/kinesis"
	cfsqs "github.com/awslabs/goformation/v7/cloudformation/sqs"
)

// Resource is a table, queue, stream, bucket or function created for the
// stack.
type Resource struct {
	LogicalID string `json:"logicalId"`
	Type      string `json:"type"` // CloudFormation type
	Name      string `json:"name"`
	ARN       string `json:"arn"`
	URL       string `json:"url,omitempty"`       // SQS queue URL
	StreamARN string `json:"streamArn,omitempty"` // DynamoDB stream
	Existed   bool   `json:"existed,omitempty"`   // found, not created, by Up
}

// clients holds the SDK clients; adapters take aws.Config, never load it.
type clients struct {
	cfg     aws.Config
	ddb     *dynamodb.Client
	sqs     *sqs.Client
	kinesis *kinesis.Client
	s3      *s3.Client
}

func newClients(cfg aws.Config) *clients {
	return &clients{
		cfg: cfg,
		ddb: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.DisableValidateResponseChecksum = true // local emulators omit x-amz-crc32
		}),
		sqs:     sqs.NewFromConfig(cfg),
		kinesis: kinesis.NewFromConfig(cfg),
		s3:      newS3(cfg),
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (c *clients) createTable(ctx context.Context, id, name string, t *cfddb.Table) (*Resource, error) {
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest}
	pt := func(p *cfddb.Table_ProvisionedThroughput) *ddbtypes.ProvisionedThroughput {
		if p == nil {
			p = &cfddb.Table_ProvisionedThroughput{ReadCapacityUnits: 5, WriteCapacityUnits: 5}
		}
		return &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(int64(p.ReadCapacityUnits)), WriteCapacityUnits: aws.Int64(int64(p.WriteCapacityUnits))}
	}
	provisioned := t.BillingMode != nil && *t.BillingMode == "PROVISIONED" || t.BillingMode == nil && t.ProvisionedThroughput != nil
	if provisioned {
		in.BillingMode = ddbtypes.BillingModeProvisioned
		in.ProvisionedThroughput = pt(t.ProvisionedThroughput)
	}
	for _, a := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(a.AttributeName), AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType)})
	}
	keys := func(ks []cfddb.Table_KeySchema) (out []ddbtypes.KeySchemaElement) {
		for _, k := range ks {
			out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
		}
		return out
	}
	proj := func(p *cfddb.Table_Projection) *ddbtypes.Projection {
		out := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}
		if p != nil {
			if p.ProjectionType != nil {
				out.ProjectionType = ddbtypes.ProjectionType(*p.ProjectionType)
			}
			out.NonKeyAttributes = p.NonKeyAttributes
		}
		return out
	}
	in.KeySchema = keys(t.KeySchema)
	for _, g := range t.GlobalSecondaryIndexes {
		gsi := ddbtypes.GlobalSecondaryIndex{IndexName: aws.String(g.IndexName), KeySchema: keys(g.KeySchema), Projection: proj(g.Projection)}
		if provisioned {
			gsi.ProvisionedThroughput = pt(g.ProvisionedThroughput)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	for _, l := range t.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{IndexName: aws.String(l.IndexName), KeySchema: keys(l.KeySchema), Projection: proj(l.Projection)})
	}
	if t.StreamSpecification != nil {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(t.StreamSpecification.StreamViewType)}
	}
	r := &Resource{LogicalID: id, Type: "AWS::DynamoDB::Table", Name: name}
	_, err := c.ddb.CreateTable(ctx, in)
	var inUse *ddbtypes.ResourceInUseException
	if errors.As(err, &inUse) {
		r.Existed = true
	} else if err != nil {
		return nil, fmt.Errorf("create table %s: %w", name, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		d, err := c.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", name, err)
		}
		r.ARN = aws.ToString(d.Table.TableArn)
		r.StreamARN = aws.ToString(d.Table.LatestStreamArn)
		if d.Table.TableStatus == ddbtypes.TableStatusActive {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("table %s not ACTIVE after 30s", name)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if ttl := t.TimeToLiveSpecification; ttl != nil && ttl.Enabled && ttl.AttributeName != nil && !r.Existed {
		if _, err := c.ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: ttl.AttributeName, Enabled: aws.Bool(true)},
		}); err != nil {
			return nil, fmt.Errorf("table %s TTL: %w", name, err)
		}
	}
	return r, nil
}

// createQueue creates the queue without its RedrivePolicy (the DLQ may not
// exist yet); setRedrive adds it once every queue's ARN is known.
func (c *clients) createQueue(ctx context.Context, id, name string, q *cfsqs.Queue) (*Resource, error) {
	attrs := map[string]string{}
	num := func(k string, v *int) {
		if v != nil {
			attrs[k] = strconv.Itoa(*v)
		}
	}
	num("VisibilityTimeout", q.VisibilityTimeout)
	num("MessageRetentionPeriod", q.MessageRetentionPeriod)
	num("DelaySeconds", q.DelaySeconds)
	num("ReceiveMessageWaitTimeSeconds", q.ReceiveMessageWaitTimeSeconds)
	num("MaximumMessageSize", q.MaximumMessageSize)
	if q.FifoQueue != nil && *q.FifoQueue {
		attrs["FifoQueue"] = "true"
	}
	if q.ContentBasedDeduplication != nil && *q.ContentBasedDeduplication {
		attrs["ContentBasedDeduplication"] = "true"
	}
	out, err := c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", name, err)
	}
	ga, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("queue %s attributes: %w", name, err)
	}
	return &Resource{LogicalID: id, Type: "AWS::SQS::Queue", Name: name, URL: aws.ToString(out.QueueUrl), ARN: ga.Attributes["QueueArn"]}, nil
}

func (c *clients) setRedrive(ctx context.Context, r *Resource, policy interface{}, res resolver) error {
	b, err := json.Marshal(policy)
	if err != nil {
		return err
	}
	s, err := res.resolve(string(b))
	if err != nil {
		return fmt.Errorf("queue %s RedrivePolicy: %w", r.LogicalID, err)
	}
	_, err = c.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(r.URL), Attributes: map[string]string{"RedrivePolicy": s}})
	if err != nil {
		return fmt.Errorf("queue %s RedrivePolicy: %w", r.LogicalID, err)
	}
	return nil
}

func (c *clients) createStream(ctx context.Context, id, name string, s *cfkinesis.Stream) (*Resource, error) {
	shards := int32(1)
	if s.ShardCount != nil && *s.ShardCount > 0 {
		shards = int32(*s.ShardCount)
	}
	r := &Resource{LogicalID: id, Type: "AWS::Kinesis::Stream", Name: name}
	_, err := c.kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	var inUse *kintypes.ResourceInUseException
	if errors.As(err, &inUse) {
		r.Existed = true
	} else if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", name, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		d, err := c.kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("describe stream %s: %w", name, err)
		}
		r.ARN = aws.ToString(d.StreamDescriptionSummary.StreamARN)
		if d.StreamDescriptionSummary.StreamStatus == kintypes.StreamStatusActive {
			return r, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("stream %s not ACTIVE after 30s", name)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// deleteResource removes a table, queue, stream or bucket (best effort).
func (c *clients) deleteResource(ctx context.Context, r *Resource) error {
	var err error
	switch r.Type {
	case "AWS::DynamoDB::Table":
		_, err = c.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(r.Name)})
	case "AWS::SQS::Queue":
		_, err = c.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(r.URL)})
	case "AWS::Kinesis::Stream":
		_, err = c.kinesis.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(r.Name), EnforceConsumerDeletion: aws.Bool(true)})
	case secretTypeName:
		err = c.deleteSecret(ctx, r)
	case "AWS::S3::Bucket":
		err = c.deleteBucket(ctx, r.Name)
	}
	return err
}

// addToResolver records what !Ref and !GetAtt of r evaluate to.
func addToResolver(res resolver, r *Resource) {
	id := r.LogicalID
	res["GetAtt:"+id+".Arn"] = r.ARN
	switch r.Type {
	case "AWS::DynamoDB::Table":
		res["Ref:"+id] = r.Name
		res["GetAtt:"+id+".StreamArn"] = r.StreamARN
	case "AWS::SQS::Queue":
		res["Ref:"+id] = r.URL
		res["GetAtt:"+id+".QueueUrl"] = r.URL
		res["GetAtt:"+id+".QueueName"] = r.Name
	case "AWS::Kinesis::Stream":
		res["Ref:"+id] = r.Name
	case secretTypeName:
		res["Ref:"+id] = r.ARN // a secret's Ref is its ARN
	case kmsAliasTypeName:
		res["Ref:"+id] = r.Name // an alias's Ref is its name
	case "AWS::KMS::Key":
		res["Ref:"+id] = r.Name // a key's Ref is its id
	case "AWS::S3::Bucket":
		res["Ref:"+id] = r.Name
		res["GetAtt:"+id+".DomainName"] = r.Name + ".s3.amazonaws.com"
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		res["Ref:"+id] = r.Name
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
