package internal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordoflow/ordo/observe"
)

// QueueAttributesAPI is the SQS call QueueDepths makes.
type QueueAttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Queue names a queue whose depth is sampled (Name is the metric's Queue
// dimension, e.g. "orchestrator", "effects-dlq").
type Queue struct {
	Name, URL string
}

// depthAttributes are the approximate counts sampled, as SQS names them
// (and so the metrics).
var depthAttributes = []sqstypes.QueueAttributeName{
	sqstypes.QueueAttributeNameApproximateNumberOfMessages,
	sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
}

// QueueDepthInterval is how often a container samples the queue depths
// (CloudWatch's standard resolution).
const QueueDepthInterval = time.Minute

// QueueDepths samples queues' approximate depths (GetQueueAttributes) into
// CloudWatch EMF lines, at most once per interval in a container, however
// often it is asked: one line per queue, namespace "ordo", dimension Queue,
// metrics ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible
// and ApproximateNumberOfMessagesDelayed.
type QueueDepths struct {
	sqs    QueueAttributesAPI
	queues []Queue
	every  time.Duration

	mu   sync.Mutex
	last time.Time
}

// NewQueueDepths samples queues (those with an empty URL are left out)
// through client every interval at most.
func NewQueueDepths(client QueueAttributesAPI, every time.Duration, queues ...Queue) *QueueDepths {
	q := &QueueDepths{sqs: client, every: every}
	for _, x := range queues {
		if x.URL != "" {
			q.queues = append(q.queues, x)
		}
	}
	return q
}

// due reports whether a sample is due at now, and if so claims it.
func (q *QueueDepths) due(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.last.IsZero() && now.Sub(q.last) < q.every {
		return false
	}
	q.last = now
	return true
}

// Sample writes the depths to w when a sample is due at now. A queue whose
// attributes cannot be read is left out of this sample; the errors come
// back joined, each naming its queue.
func (q *QueueDepths) Sample(ctx context.Context, w io.Writer, now time.Time) error {
	if len(q.queues) == 0 || !q.due(now) {
		return nil
	}
	var errs []error
	for _, x := range q.queues {
		out, err := q.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(x.URL), AttributeNames: depthAttributes})
		if err != nil {
			errs = append(errs, fmt.Errorf("queue depth of %s (%s): %w", x.Name, x.URL, err))
			continue
		}
		if err := writeDepth(w, x.Name, out.Attributes, now); err != nil {
			errs = append(errs, fmt.Errorf("queue depth of %s: %w", x.Name, err))
		}
	}
	return errors.Join(errs...)
}

// writeDepth writes one queue's attributes as an EMF line.
func writeDepth(w io.Writer, name string, attrs map[string]string, now time.Time) error {
	line := map[string]any{"Queue": name}
	var metrics []map[string]string
	for _, a := range depthAttributes {
		n, err := strconv.ParseInt(attrs[string(a)], 10, 64)
		if err != nil {
			return fmt.Errorf("attribute %s: %q is not a count", a, attrs[string(a)])
		}
		metrics = append(metrics, map[string]string{"Name": string(a), "Unit": "Count"})
		line[string(a)] = n
	}
	return observe.WriteEMF(w, now, "Queue", metrics, line)
}
