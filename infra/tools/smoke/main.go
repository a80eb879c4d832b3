// Command smoke checks that the local AWS stack answers the way ordo needs:
// a DynamoDB table with a conditional put on DynamoDB Local, an SQS queue
// send/receive/delete on kumo, and a Kinesis stream put/get on kumo.
//
// It uses the SDK's default configuration, so source infra/env.sh first
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, test credentials):
//
//	. infra/env.sh && (cd infra/tools && go run ./smoke)
//
// It exits non-zero on the first failed check.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("smoke: ")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if os.Getenv("AWS_ENDPOINT_URL") == "" || os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" {
		log.Fatal("AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB not set: source infra/env.sh first")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatalf("load config: %v", err)
	}
	suffix := fmt.Sprint(time.Now().UnixNano())
	start := time.Now()
	step("dynamodb", func() error { return checkDynamo(ctx, cfg, "smoke-"+suffix) })
	step("sqs", func() error { return checkSQS(ctx, cfg, "smoke-"+suffix) })
	step("kinesis", func() error { return checkKinesis(ctx, cfg, "smoke-"+suffix) })
	log.Printf("all checks passed in %s", time.Since(start).Round(time.Millisecond))
}

func step(name string, f func() error) {
	t := time.Now()
	if err := f(); err != nil {
		log.Fatalf("%s: FAIL: %v", name, err)
	}
	log.Printf("%s: ok (%s)", name, time.Since(t).Round(time.Millisecond))
}

func checkDynamo(ctx context.Context, cfg aws.Config, table string) error {
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = true // local emulators omit x-amz-crc32
	})
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	})
	if err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	defer db.DeleteTable(context.WithoutCancel(ctx), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	put := func() error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String(table),
			Item:                map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k1"}},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		return err
	}
	if err := put(); err != nil {
		return fmt.Errorf("first conditional put: %w", err)
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err := put(); !errors.As(err, &ccf) {
		return fmt.Errorf("second conditional put: want ConditionalCheckFailedException, got %v", err)
	}
	return nil
}

func checkSQS(ctx context.Context, cfg aws.Config, name string) error {
	q := sqs.NewFromConfig(cfg)
	cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	defer q.DeleteQueue(context.WithoutCancel(ctx), &sqs.DeleteQueueInput{QueueUrl: cq.QueueUrl})
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("hello")}); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	rm, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	if len(rm.Messages) != 1 || aws.ToString(rm.Messages[0].Body) != "hello" {
		return fmt.Errorf("receive: got %d messages, want 1 with body hello", len(rm.Messages))
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: cq.QueueUrl, ReceiptHandle: rm.Messages[0].ReceiptHandle}); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

func checkKinesis(ctx context.Context, cfg aws.Config, name string) error {
	k := kinesis.NewFromConfig(cfg)
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	defer k.DeleteStream(context.WithoutCancel(ctx), &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
	var shard string
	for deadline := time.Now().Add(10 * time.Second); ; {
		ds, err := k.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe stream: %w", err)
		}
		if ds.StreamDescription.StreamStatus == kintypes.StreamStatusActive && len(ds.StreamDescription.Shards) > 0 {
			shard = aws.ToString(ds.StreamDescription.Shards[0].ShardId)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stream not ACTIVE after 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	pr, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String("p"), Data: []byte("rec")})
	if err != nil {
		return fmt.Errorf("put record: %w", err)
	}
	it, err := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(name), ShardId: aws.String(shard), ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return fmt.Errorf("get shard iterator: %w", err)
	}
	gr, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		return fmt.Errorf("get records: %w", err)
	}
	if len(gr.Records) != 1 || string(gr.Records[0].Data) != "rec" ||
		aws.ToString(gr.Records[0].SequenceNumber) != aws.ToString(pr.SequenceNumber) {
		return fmt.Errorf("get records: got %d records, want the one put", len(gr.Records))
	}
	return nil
}
