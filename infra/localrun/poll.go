package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// PollerStatus describes one event-source poller.
type PollerStatus struct {
	Function    string `json:"function"`
	Event       string `json:"event"`
	Type        string `json:"type"` // SQS, Kinesis
	Source      string `json:"source"`
	Shard       string `json:"shard,omitempty"`
	Invocations int    `json:"invocations"`
	// Records is how many messages or records the invocations carried.
	Records int `json:"records"`
	// Busy is the time spent in the function's invocations (what Lambda
	// bills, on this machine's latencies).
	Busy      time.Duration `json:"busy"`
	Failures  int           `json:"failures"` // failed invokes and reported item failures
	LastError string        `json:"lastError,omitempty"`
}

type poller struct {
	mu sync.Mutex
	st PollerStatus
}

func (p *poller) status() PollerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *poller) record(failures int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Invocations++
	p.st.Failures += failures
	if err != nil {
		p.st.LastError = err.Error()
	}
}

// busy adds the time an invocation took and the records it carried.
func (p *poller) busy(d time.Duration, records int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Busy += d
	p.st.Records += records
}

// invoker calls a function through the Lambda API (kumo) synchronously.
type invoker struct {
	lambda *lambda.Client
	fn     string
	log    io.Writer
}

// errFunction is a function error (the handler failed or panicked).
var errFunction = errors.New("function error")

// invoke sends payload and returns the response. Errors reaching the Lambda
// service (including kumo's "no runtime handler" while a bootstrap starts)
// are retried for up to retryFor; a function error is returned at once.
func (iv *invoker) invoke(ctx context.Context, payload any, retryFor time.Duration) ([]byte, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(retryFor)
	backoff := 50 * time.Millisecond
	for {
		out, err := iv.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(iv.fn), Payload: b})
		if err == nil {
			if out.FunctionError != nil {
				return out.Payload, fmt.Errorf("%w (%s): %s", errFunction, aws.ToString(out.FunctionError), truncate(out.Payload, 300))
			}
			return out.Payload, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("invoke %s: %w", iv.fn, err)
		}
		if sleepCtx(ctx, backoff) != nil {
			return nil, ctx.Err()
		}
		backoff = min(backoff*2, time.Second)
	}
}

// sqsPoller mirrors Lambda's SQS event source mapping.
type sqsPoller struct {
	poller
	iv       *invoker
	sqs      *sqs.Client
	queueURL string
	queueARN string
	region   string
	ev       EventSpec
	wait     int32 // long-poll seconds
	retryFor time.Duration
}

func (p *sqsPoller) run(ctx context.Context) {
	batch := int32(min(max(p.ev.BatchSize, 1), 10))
	for ctx.Err() == nil {
		out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.queueURL),
			MaxNumberOfMessages:         batch,
			WaitTimeSeconds:             p.wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() == nil {
				p.record(0, fmt.Errorf("receive: %w", err))
				_ = sleepCtx(ctx, time.Second)
			}
			continue
		}
		if len(out.Messages) > 0 {
			p.handle(ctx, out.Messages)
		}
	}
}

func (p *sqsPoller) handle(ctx context.Context, msgs []sqstypes.Message) {
	ev := events.SQSEvent{}
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             m.Attributes,
			EventSourceARN:         p.queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              p.region,
		}
		if len(m.MessageAttributes) > 0 {
			rec.MessageAttributes = map[string]events.SQSMessageAttribute{}
			for k, a := range m.MessageAttributes {
				rec.MessageAttributes[k] = events.SQSMessageAttribute{
					StringValue: a.StringValue, BinaryValue: a.BinaryValue, DataType: aws.ToString(a.DataType),
					StringListValues: a.StringListValues, BinaryListValues: a.BinaryListValues,
				}
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	start := time.Now()
	resp, err := p.iv.invoke(ctx, ev, p.retryFor)
	p.busy(time.Since(start), len(msgs))
	if err != nil {
		// Delete nothing: the batch returns after the visibility timeout
		// and the queue's redrive policy applies.
		p.record(len(msgs), err)
		fmt.Fprintf(p.iv.log, "[localrun] %s/%s: batch of %d failed, left for redelivery: %v\n", p.iv.fn, p.ev.Name, len(msgs), err)
		return
	}
	failed, ferr := p.failedIDs(resp, msgs)
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	p.record(len(msgs)-len(del), ferr)
	for i := 0; i < len(del); i += 10 {
		out, err := p.sqs.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: del[i:min(i+10, len(del))]})
		if err == nil && len(out.Failed) > 0 {
			err = fmt.Errorf("%d deletes failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
		}
		if err != nil {
			p.record(0, fmt.Errorf("delete: %w", err))
		}
	}
}

// failedIDs reads an SQSEventResponse as AWS does: without
// ReportBatchItemFailures the response is ignored; an unparsable response or
// an unknown/empty itemIdentifier fails the whole batch.
func (p *sqsPoller) failedIDs(resp []byte, msgs []sqstypes.Message) (map[string]bool, error) {
	failed := map[string]bool{}
	if !p.ev.ReportBatchItemFailures || len(resp) == 0 || string(resp) == "null" {
		return failed, nil
	}
	all := func(err error) (map[string]bool, error) {
		for _, m := range msgs {
			failed[aws.ToString(m.MessageId)] = true
		}
		return failed, err
	}
	var r events.SQSEventResponse
	if err := json.Unmarshal(resp, &r); err != nil {
		return all(fmt.Errorf("invalid SQSEventResponse: %w", err))
	}
	known := map[string]bool{}
	for _, m := range msgs {
		known[aws.ToString(m.MessageId)] = true
	}
	for _, f := range r.BatchItemFailures {
		if !known[f.ItemIdentifier] {
			return all(fmt.Errorf("batchItemFailures names unknown message %q", f.ItemIdentifier))
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// kinesisPoller mirrors Lambda's Kinesis event source mapping for one shard.
type kinesisPoller struct {
	poller
	iv         *invoker
	kinesis    *kinesis.Client
	streamName string
	streamARN  string
	shard      string
	region     string
	ev         EventSpec
	iterator   string // first iterator, taken in Up so LATEST means "after Up"
	idle       time.Duration
	retryFor   time.Duration
}

func (p *kinesisPoller) run(ctx context.Context) {
	it := p.iterator
	attempts := 0
	backoff := 100 * time.Millisecond
	last := "" // the last sequence number handed on (or given up)
	for ctx.Err() == nil {
		out, err := p.kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(int32(min(max(p.ev.BatchSize, 1), 10000)))})
		if err != nil {
			if ctx.Err() == nil {
				p.record(0, fmt.Errorf("get records: %w", err))
				_ = sleepCtx(ctx, time.Second)
				// An iterator can expire or be refused: take a fresh one from
				// where the poller got to, as AWS's poller does.
				if fresh, ferr := p.reposition(ctx, last); ferr == nil {
					it = fresh
				}
			}
			continue
		}
		if len(out.Records) == 0 {
			if out.NextShardIterator == nil {
				return // shard closed
			}
			it = aws.ToString(out.NextShardIterator)
			_ = sleepCtx(ctx, p.idle)
			continue
		}
		retryFrom, err := p.handle(ctx, out.Records)
		if retryFrom == "" {
			attempts, backoff = 0, 100*time.Millisecond
			it = aws.ToString(out.NextShardIterator)
			last = aws.ToString(out.Records[len(out.Records)-1].SequenceNumber)
			continue
		}
		attempts++
		if p.ev.MaximumRetryAttempts >= 0 && attempts > p.ev.MaximumRetryAttempts {
			fmt.Fprintf(p.iv.log, "[localrun] %s/%s: discarding batch after %d retries: %v\n", p.iv.fn, p.ev.Name, attempts-1, err)
			attempts = 0
			it = aws.ToString(out.NextShardIterator)
			last = aws.ToString(out.Records[len(out.Records)-1].SequenceNumber)
			continue
		}
		fmt.Fprintf(p.iv.log, "[localrun] %s/%s: retrying from %s: %v\n", p.iv.fn, p.ev.Name, retryFrom, err)
		if sleepCtx(ctx, backoff) != nil {
			return
		}
		backoff = min(backoff*2, 5*time.Second)
		gi, gerr := p.kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(p.streamName), ShardId: aws.String(p.shard),
			ShardIteratorType: kintypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(retryFrom),
		})
		if gerr != nil {
			p.record(0, fmt.Errorf("get shard iterator: %w", gerr))
			continue // retry with the old iterator
		}
		it = aws.ToString(gi.ShardIterator)
	}
}

// handle invokes the function with one batch and returns the sequence number
// to retry from ("" when the batch is done).
func (p *kinesisPoller) handle(ctx context.Context, recs []kintypes.Record) (string, error) {
	ev := events.KinesisEvent{}
	for _, r := range recs {
		seq := aws.ToString(r.SequenceNumber)
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			AwsRegion:         p.region,
			EventID:           p.shard + ":" + seq,
			EventName:         "aws:kinesis:record",
			EventSource:       "aws:kinesis",
			EventSourceArn:    p.streamARN,
			EventVersion:      "1.0",
			InvokeIdentityArn: "arn:aws:iam::000000000000:role/lambda-role",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: aws.ToTime(r.ApproximateArrivalTimestamp)},
				Data:                        r.Data,
				EncryptionType:              string(r.EncryptionType),
				PartitionKey:                aws.ToString(r.PartitionKey),
				SequenceNumber:              seq,
				KinesisSchemaVersion:        "1.0",
			},
		})
	}
	first := aws.ToString(recs[0].SequenceNumber)
	start := time.Now()
	resp, err := p.iv.invoke(ctx, ev, p.retryFor)
	p.busy(time.Since(start), len(recs))
	if err != nil {
		p.record(len(recs), err)
		return first, err
	}
	if !p.ev.ReportBatchItemFailures || len(resp) == 0 || string(resp) == "null" {
		p.record(0, nil)
		return "", nil
	}
	var r events.KinesisEventResponse
	if err := json.Unmarshal(resp, &r); err != nil {
		err = fmt.Errorf("invalid KinesisEventResponse: %w", err)
		p.record(len(recs), err)
		return first, err
	}
	if len(r.BatchItemFailures) == 0 {
		p.record(0, nil)
		return "", nil
	}
	// Resume from the lowest failed sequence number in the batch.
	idx := map[string]int{}
	for i, rec := range recs {
		idx[aws.ToString(rec.SequenceNumber)] = i
	}
	lowest := len(recs)
	for _, f := range r.BatchItemFailures {
		i, ok := idx[f.ItemIdentifier]
		if !ok {
			err := fmt.Errorf("batchItemFailures names unknown sequence number %q", f.ItemIdentifier)
			p.record(len(recs), err)
			return first, err
		}
		lowest = min(lowest, i)
	}
	err = fmt.Errorf("%d records reported failed", len(recs)-lowest)
	p.record(len(recs)-lowest, err)
	return aws.ToString(recs[lowest].SequenceNumber), err
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

// reposition returns a fresh shard iterator just after sequence number
// last, or at the event source's starting position when nothing was read.
func (p *kinesisPoller) reposition(ctx context.Context, last string) (string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(p.streamName), ShardId: aws.String(p.shard)}
	if last != "" {
		in.ShardIteratorType, in.StartingSequenceNumber = kintypes.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
	} else {
		in.ShardIteratorType = kintypes.ShardIteratorType(p.ev.StartingPosition)
		if in.ShardIteratorType == "" {
			in.ShardIteratorType = kintypes.ShardIteratorTypeTrimHorizon
		}
	}
	out, err := p.kinesis.GetShardIterator(ctx, in)
	if err != nil {
		p.record(0, fmt.Errorf("get shard iterator: %w", err))
		return "", err
	}
	return aws.ToString(out.ShardIterator), nil
}
