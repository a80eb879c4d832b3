package internal

import (
	"context"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ordoflow/ordo/observe"
)

// CallCounter counts AWS API calls by "Service.Operation" through an SDK
// middleware: add Middleware to aws.Config.APIOptions and every client made
// from that config is counted. It also sums the DynamoDB capacity the
// calls consumed (WriteUnits, ReadUnits: the table's and its indexes',
// as DynamoDB bills them), asking for it on each request that does not.
// It is how ordo measures its cost per step.
type CallCounter struct {
	mu     sync.Mutex
	counts map[string]float64
}

// The names under which a CallCounter reports DynamoDB's consumed
// capacity, beside the calls.
const (
	WriteUnits = "DynamoDBWriteUnits"
	ReadUnits  = "DynamoDBReadUnits"
)

// NewCallCounter returns an empty counter.
func NewCallCounter() *CallCounter { return &CallCounter{counts: map[string]float64{}} }

// Middleware registers the counting step on an SDK middleware stack.
func (c *CallCounter) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ordoCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			key := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			askCapacity(in.Parameters)
			out, md, err := next.HandleInitialize(ctx, in)
			write, read := consumed(out.Result)
			c.mu.Lock()
			c.counts[key]++
			if write > 0 {
				c.counts[WriteUnits] += write
			}
			if read > 0 {
				c.counts[ReadUnits] += read
			}
			c.mu.Unlock()
			return out, md, err
		}), middleware.After)
}

// askCapacity asks a DynamoDB request for the capacity it consumes
// (TOTAL: the table's and its indexes' together), unless it asks already.
func askCapacity(params any) {
	set := func(r *ddbtypes.ReturnConsumedCapacity) {
		if *r == "" {
			*r = ddbtypes.ReturnConsumedCapacityTotal
		}
	}
	switch p := params.(type) {
	case *dynamodb.PutItemInput:
		set(&p.ReturnConsumedCapacity)
	case *dynamodb.UpdateItemInput:
		set(&p.ReturnConsumedCapacity)
	case *dynamodb.DeleteItemInput:
		set(&p.ReturnConsumedCapacity)
	case *dynamodb.BatchWriteItemInput:
		set(&p.ReturnConsumedCapacity)
	case *dynamodb.TransactWriteItemsInput:
		set(&p.ReturnConsumedCapacity)
	case *dynamodb.GetItemInput:
		set(&p.ReturnConsumedCapacity)
	case *dynamodb.BatchGetItemInput:
		set(&p.ReturnConsumedCapacity)
	case *dynamodb.QueryInput:
		set(&p.ReturnConsumedCapacity)
	}
}

// consumed returns the write and read units a DynamoDB response reports.
func consumed(result any) (write, read float64) {
	var cc []ddbtypes.ConsumedCapacity
	writes := true
	switch r := result.(type) {
	case *dynamodb.PutItemOutput:
		cc = one(r.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		cc = one(r.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		cc = one(r.ConsumedCapacity)
	case *dynamodb.BatchWriteItemOutput:
		cc = r.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		cc = r.ConsumedCapacity
	case *dynamodb.GetItemOutput:
		cc, writes = one(r.ConsumedCapacity), false
	case *dynamodb.BatchGetItemOutput:
		cc, writes = r.ConsumedCapacity, false
	case *dynamodb.QueryOutput:
		cc, writes = one(r.ConsumedCapacity), false
	}
	for _, x := range cc {
		switch {
		case x.WriteCapacityUnits != nil || x.ReadCapacityUnits != nil:
			write += aws.ToFloat64(x.WriteCapacityUnits)
			read += aws.ToFloat64(x.ReadCapacityUnits)
		case writes:
			write += aws.ToFloat64(x.CapacityUnits)
		default:
			read += aws.ToFloat64(x.CapacityUnits)
		}
	}
	return write, read
}

func one(c *ddbtypes.ConsumedCapacity) []ddbtypes.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []ddbtypes.ConsumedCapacity{*c}
}

// Take returns the counts so far (calls by "Service.Operation", and
// WriteUnits and ReadUnits when DynamoDB was called) and resets them.
func (c *CallCounter) Take() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[string]float64{}
	return out
}

// MetricsLine is the name of the field that marks ordo's metric log lines.
const MetricsLine = "ordoCalls"

// WriteEMF writes counts as one CloudWatch Embedded Metric Format line
// (namespace "ordo", dimension Function), so CloudWatch turns the Lambda's
// log into per-operation call metrics and DynamoDB's consumed units. The line also carries
// "ordoCalls": true for tools that read logs directly.
func WriteEMF(w io.Writer, function string, counts map[string]float64, now time.Time) error {
	if len(counts) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(counts))
	metrics := make([]map[string]string, len(names))
	line := map[string]any{"Function": function, MetricsLine: true}
	for i, n := range names {
		metrics[i] = map[string]string{"Name": n, "Unit": "Count"}
		line[n] = counts[n]
	}
	return observe.WriteEMF(w, now, "Function", metrics, line)
}
