package internal

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/review"
)

// ControlRedeliver is the control message that resubmits a malformed
// trigger from review (see Control).
const ControlRedeliver = "redeliver"

// Redeliverer is the review.Redeliverer of the API Lambda: a failed effect
// goes back on the effects queue, a resubmitted trigger goes to the
// orchestrator's queue as a "redeliver" control message, which the
// orchestrator processes as a record from the trigger's own channel and
// with its own id (so a keyless start keeps its run key, and a body still
// malformed reopens its review item).
type Redeliverer struct {
	client       SQSAPI
	orchestrator string
	effects      *SQSDispatcher
}

var _ review.Redeliverer = (*Redeliverer)(nil)

// NewRedeliverer returns a Redeliverer to the queues at those URLs.
func NewRedeliverer(client SQSAPI, orchestratorQueueURL, effectsQueueURL string) *Redeliverer {
	return &Redeliverer{client: client, orchestrator: orchestratorQueueURL, effects: NewSQSDispatcher(client, effectsQueueURL)}
}

// Redispatch implements review.Redeliverer.
func (r *Redeliverer) Redispatch(ctx context.Context, run string, e journal.Effect) error {
	return r.effects.Dispatch(ctx, run, []journal.Effect{e})
}

// Redeliver implements review.Redeliverer.
func (r *Redeliverer) Redeliver(ctx context.Context, source, trigger string, body json.RawMessage) error {
	b, err := json.Marshal(Control{Ordo: ControlRedeliver, Channel: source, Trigger: trigger, Input: body})
	if err != nil {
		return fmt.Errorf("redeliver %s: %w", trigger, err)
	}
	_, err = r.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(r.orchestrator), MessageBody: aws.String(string(b))})
	if err != nil {
		return fmt.Errorf("redeliver %s: %w", trigger, err)
	}
	return nil
}

// redelivery unwraps a well-formed "redeliver" control message.
func redelivery(body []byte) (Control, bool) {
	var c Control
	if json.Unmarshal(body, &c) != nil || c.Ordo != ControlRedeliver || c.Channel == "" || c.Trigger == "" || len(c.Input) == 0 {
		return Control{}, false
	}
	return c, true
}
