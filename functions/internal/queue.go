package internal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// SQSAPI is the part of the SQS client the adapters use.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// The control operations of the orchestrator's queue (Control.Ordo). They
// are persisted in messages: never rename one.
const (
	// ControlContinue drives Run (a continuation, a wake-up).
	ControlContinue = "continue"
	// ControlStart starts Workflow with Input (and Key).
	ControlStart = "start"
	// ControlEvent delivers the external event Name with payload Input to
	// Run.
	ControlEvent = "event"
	// ControlComplete finishes the async step attempt of Token with Input
	// as its output, or with Error.
	ControlComplete = "complete"
)

// Control is a message on the orchestrator's own queue.
type Control struct {
	// Ordo is the operation: ControlContinue, ControlStart, ControlEvent,
	// ControlComplete or ControlRedeliver (process Input as a record from
	// Channel with the id Trigger: a malformed trigger resubmitted from
	// review).
	Ordo     string          `json:"ordo"`
	Run      string          `json:"run,omitempty"`
	Workflow string          `json:"workflow,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
	Key      string          `json:"key,omitempty"`
	Name     string          `json:"name,omitempty"`
	Token    string          `json:"token,omitempty"`
	Error    *step.Failure   `json:"error,omitempty"`
	// Channel and Trigger name where a "redeliver" message's Input first
	// came from (see Redeliverer).
	Channel string `json:"channel,omitempty"`
	Trigger string `json:"trigger,omitempty"`
}

// maxDelay is SQS's longest message delay; longer waits chain messages.
const maxDelay = 15 * time.Minute

// Continuations sends "drive this run (later)" messages to the
// orchestrator's queue: timers, retry delays and deadline hand-offs ride on
// SQS message delays (a standard queue; FIFO queues have no per-message
// delay).
type Continuations struct {
	client SQSAPI
	url    string
}

// NewContinuations returns a sender to the queue at url.
func NewContinuations(client SQSAPI, url string) *Continuations {
	return &Continuations{client: client, url: url}
}

// Continue asks for run to be driven after delay (capped at 15 minutes; a
// run that must wait longer is re-queued when that message arrives).
func (c *Continuations) Continue(ctx context.Context, run string, delay time.Duration) error {
	body, _ := json.Marshal(Control{Ordo: ControlContinue, Run: run})
	secs := int32(math.Ceil(min(max(delay, 0), maxDelay).Seconds()))
	_, err := c.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(c.url),
		MessageBody: aws.String(string(body)), DelaySeconds: secs})
	if err != nil {
		return fmt.Errorf("continue %s: %w", run, err)
	}
	return nil
}

// Schedule asks for each of runs to be driven now: the runs a command or a
// Drive reported as needing a drive (Receipt.Wake, Outcome.Wake). It tries
// every run and returns the errors joined.
func (c *Continuations) Schedule(ctx context.Context, runs ...string) error {
	var errs []error
	for _, run := range runs {
		if err := c.Continue(ctx, run, 0); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EffectMessage is the body of an effects-queue message.
type EffectMessage struct {
	Run    string         `json:"run"`
	Effect journal.Effect `json:"effect"`
}

// SQSDispatcher sends journaled effects to the effects queue, ten per
// SendMessageBatch. Each message carries the effect's stable id, so a
// redelivered or re-dispatched effect is recognised downstream.
type SQSDispatcher struct {
	client SQSAPI
	url    string
}

var _ orchestrator.Dispatcher = (*SQSDispatcher)(nil)

// NewSQSDispatcher returns a dispatcher to the queue at url.
func NewSQSDispatcher(client SQSAPI, url string) *SQSDispatcher {
	return &SQSDispatcher{client: client, url: url}
}

// Dispatch implements orchestrator.Dispatcher.
func (d *SQSDispatcher) Dispatch(ctx context.Context, run string, effects []journal.Effect) error {
	for start := 0; start < len(effects); start += 10 {
		batch := effects[start:min(start+10, len(effects))]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, e := range batch {
			body, err := json.Marshal(EffectMessage{Run: run, Effect: e})
			if err != nil {
				return fmt.Errorf("dispatch %s: %w", e.ID, err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body)),
				MessageAttributes: map[string]types.MessageAttributeValue{
					"ordo-effect-id": {DataType: aws.String("String"), StringValue: aws.String(e.ID)}}}
		}
		out, err := d.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(d.url), Entries: entries})
		if err != nil {
			return fmt.Errorf("dispatch effects of %s: %w", run, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("dispatch effects of %s: %d not sent, first: %s %s", run, len(out.Failed),
				aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}
