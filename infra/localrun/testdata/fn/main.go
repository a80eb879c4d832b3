// Command fn is localrun's test Lambda. It records every SQS message and
// Kinesis record it sees in the DynamoDB table $TABLE_NAME (item pk = body
// or data, attribute n = times seen), and:
//
//   - reports an SQS message whose body starts with "fail" (or a Kinesis
//     record whose data starts with "fail", on its first sighting) as a batch
//     item failure;
//   - panics, ending the process, on the first sighting of a body starting
//     with "panic".
package main

import (
	"context"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var db *dynamodb.Client

// seen counts a sighting of key and returns how many there have been.
func seen(ctx context.Context, key, kind string) int {
	out, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(os.Getenv("TABLE_NAME")),
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
		UpdateExpression: aws.String("ADD n :one SET kind = :k, greeting = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": &types.AttributeValueMemberN{Value: "1"},
			":k":   &types.AttributeValueMemberS{Value: kind},
			":g":   &types.AttributeValueMemberS{Value: os.Getenv("GREETING") + "|" + os.Getenv("MODE")},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(out.Attributes["n"].(*types.AttributeValueMemberN).Value)
	return n
}

func handleSQS(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		if m.EventSource != "aws:sqs" || m.EventSourceARN != os.Getenv("QUEUE_ARN") {
			panic("bad event source " + m.EventSourceARN)
		}
		n := seen(ctx, m.Body, "sqs")
		switch {
		case strings.HasPrefix(m.Body, "panic") && n == 1:
			panic("panic requested by " + m.Body)
		case strings.HasPrefix(m.Body, "fail"):
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp
}

func handleKinesis(ctx context.Context, ev events.KinesisEvent) events.KinesisEventResponse {
	var resp events.KinesisEventResponse
	for _, r := range ev.Records {
		data := string(r.Kinesis.Data)
		n := seen(ctx, "kinesis#"+data, "kinesis")
		if strings.HasPrefix(data, "fail") && n == 1 {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
			break
		}
	}
	return resp
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	db = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	lambda.Start(func(ctx context.Context, raw map[string]any) (any, error) {
		recs, _ := raw["Records"].([]any)
		if len(recs) > 0 {
			if r, _ := recs[0].(map[string]any); r["eventSource"] == "aws:kinesis" {
				var ev events.KinesisEvent
				if err := remarshal(raw, &ev); err != nil {
					return nil, err
				}
				return handleKinesis(ctx, ev), nil
			}
		}
		var ev events.SQSEvent
		if err := remarshal(raw, &ev); err != nil {
			return nil, err
		}
		return handleSQS(ctx, ev), nil
	})
}
