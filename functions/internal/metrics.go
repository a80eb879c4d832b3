package internal

import (
	"context"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/ordoflow/ordo/observe"
)

// CallCounter counts AWS API calls by "Service.Operation" through an SDK
// middleware: add Middleware to aws.Config.APIOptions and every client made
// from that config is counted. It is how ordo measures its cost per step.
type CallCounter struct {
	mu     sync.Mutex
	counts map[string]int64
}

// NewCallCounter returns an empty counter.
func NewCallCounter() *CallCounter { return &CallCounter{counts: map[string]int64{}} }

// Middleware registers the counting step on an SDK middleware stack.
func (c *CallCounter) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ordoCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			key := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.counts[key]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Take returns the counts so far and resets them.
func (c *CallCounter) Take() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[string]int64{}
	return out
}

// MetricsLine is the name of the field that marks ordo's metric log lines.
const MetricsLine = "ordoCalls"

// WriteEMF writes counts as one CloudWatch Embedded Metric Format line
// (namespace "ordo", dimension Function), so CloudWatch turns the Lambda's
// log into per-operation call metrics. The line also carries
// "ordoCalls": true for tools that read logs directly.
func WriteEMF(w io.Writer, function string, counts map[string]int64, now time.Time) error {
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
