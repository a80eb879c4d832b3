package internal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// ErrMalformed marks a record that no retry can make valid: it goes to the
// review path with the reason, and the rest of its batch goes on.
var ErrMalformed = errors.New("malformed message")

// Message is a decoded trigger: start a run, or drive one.
type Message struct {
	// Run, when set, asks for that run to be driven (a continuation).
	Run string
	// Workflow, Input and Key ask for a run to be started.
	Workflow string
	Input    json.RawMessage
	Key      string
	// Trigger identifies the record (source and message id / sequence).
	Trigger string
	// Event names an external event for Run (payload Input); Token
	// completes an async step (output Input, or Failure).
	Event   string
	Token   string
	Failure *step.Failure
	// Result is the result of Run's attempt started with an asynchronous
	// invoke (a Lambda destination record).
	Result *orchestrator.StepResult
}

// Decoder maps a record from a channel (e.g. "sqs:orders") to a Message:
// the orchestrator's own control messages ({"ordo":"continue"|"start",…}),
// an asynchronous step's result (a Lambda destination record),
// an explicit envelope ({"workflow","input","key"}), or a business event
// matched by a workflow's trigger bindings (Trigger.Source == channel,
// Trigger.When over the message).
type Decoder struct {
	defs func() []*workflow.Definition
}

// NewDecoder decodes with the bindings of the definitions defs returns
// (called per record, so newly registered versions apply at once).
func NewDecoder(defs func() []*workflow.Definition) *Decoder { return &Decoder{defs: defs} }

// Decode decodes body received on channel. Errors wrap ErrMalformed and say
// what was wrong.
func (d *Decoder) Decode(channel, trigger string, body []byte) (Message, error) {
	if !json.Valid(body) {
		return Message{}, fmt.Errorf("%w: %s record %s: body is not JSON: %q", ErrMalformed, channel, trigger, clip(body))
	}
	var probe struct {
		Ordo     *string          `json:"ordo"`
		Workflow *string          `json:"workflow"`
		Input    *json.RawMessage `json:"input"`
		// A Lambda destination record (an asynchronous step's result).
		RequestContext  *json.RawMessage `json:"requestContext"`
		RequestPayload  *json.RawMessage `json:"requestPayload"`
		ResponseContext *json.RawMessage `json:"responseContext"`
	}
	_ = json.Unmarshal(body, &probe) // a non-object body is a plain business event
	switch {
	case isDestinationRecord(probe.RequestContext, probe.RequestPayload, probe.ResponseContext):
		return decodeResult(channel, trigger, body)
	case probe.Ordo != nil:
		var c Control
		if err := json.Unmarshal(body, &c); err != nil {
			return Message{}, fmt.Errorf("%w: %s record %s: control message: %v", ErrMalformed, channel, trigger, err)
		}
		switch c.Ordo {
		case ControlContinue:
			if c.Run == "" {
				return Message{}, fmt.Errorf("%w: %s record %s: continue without a run", ErrMalformed, channel, trigger)
			}
			return Message{Run: c.Run, Trigger: trigger}, nil
		case ControlStart:
			if c.Workflow == "" {
				return Message{}, fmt.Errorf("%w: %s record %s: start without a workflow", ErrMalformed, channel, trigger)
			}
			return Message{Workflow: c.Workflow, Input: c.Input, Key: c.Key, Trigger: trigger}, nil
		case ControlEvent:
			if c.Run == "" || c.Name == "" {
				return Message{}, fmt.Errorf("%w: %s record %s: an event needs a run and a name", ErrMalformed, channel, trigger)
			}
			return Message{Run: c.Run, Event: c.Name, Input: c.Input, Trigger: trigger}, nil
		case ControlComplete:
			if c.Token == "" {
				return Message{}, fmt.Errorf("%w: %s record %s: complete without a token", ErrMalformed, channel, trigger)
			}
			return Message{Token: c.Token, Input: c.Input, Failure: c.Error, Trigger: trigger}, nil
		case ControlRedeliver:
			return Message{}, fmt.Errorf("%w: %s record %s: a redelivery must come alone, on the orchestrator's queue, with a channel and a trigger", ErrMalformed, channel, trigger)
		}
		return Message{}, fmt.Errorf("%w: %s record %s: unknown control %q", ErrMalformed, channel, trigger, c.Ordo)
	case probe.Workflow != nil && probe.Input != nil:
		var env struct {
			Workflow string          `json:"workflow"`
			Input    json.RawMessage `json:"input"`
			Key      string          `json:"key"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return Message{}, fmt.Errorf("%w: %s record %s: envelope: %v", ErrMalformed, channel, trigger, err)
		}
		if env.Workflow == "" {
			return Message{}, fmt.Errorf("%w: %s record %s: envelope with an empty workflow", ErrMalformed, channel, trigger)
		}
		return Message{Workflow: env.Workflow, Input: env.Input, Key: env.Key, Trigger: trigger}, nil
	}
	msg, err := workflow.DecodeJSON(body)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %s record %s: %v", ErrMalformed, channel, trigger, err)
	}
	var tried []string
	for _, def := range d.defs() {
		for i, t := range def.Triggers {
			if t.Source != channel {
				continue
			}
			tried = append(tried, def.Name)
			if t.When != "" {
				ok, err := def.EvalTrigger(i, "when", msg)
				if err != nil {
					// A message that lacks the fields a binding tests does not match it.
					continue
				}
				if b, _ := ok.(bool); !b {
					continue
				}
			}
			m := Message{Workflow: def.Name, Input: body, Trigger: trigger}
			if t.Input != "" {
				v, err := def.EvalTrigger(i, "input", msg)
				if err == nil {
					m.Input, err = json.Marshal(v)
				}
				if err != nil {
					return Message{}, fmt.Errorf("%w: %s record %s: workflow %s: trigger input: %v", ErrMalformed, channel, trigger, def.Name, err)
				}
			}
			if t.Key != "" {
				v, err := def.EvalTrigger(i, "key", msg)
				if err != nil {
					return Message{}, fmt.Errorf("%w: %s record %s: workflow %s: trigger key: %v", ErrMalformed, channel, trigger, def.Name, err)
				}
				m.Key = workflow.KeyString(v)
			}
			return m, nil
		}
	}
	if len(tried) == 0 {
		return Message{}, fmt.Errorf("%w: %s record %s: no workflow is bound to %s and the body is not an envelope {\"workflow\",\"input\"}", ErrMalformed, channel, trigger, channel)
	}
	return Message{}, fmt.Errorf("%w: %s record %s: matches none of the bindings of %s", ErrMalformed, channel, trigger, strings.Join(tried, ", "))
}

func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// Channel names the source of a record from its ARN: the queue or stream
// name with the stack's resource prefix removed, after the service
// ("sqs:orders", "kinesis:orders").
func Channel(service, arn, prefix string) string {
	name := arn[strings.LastIndexAny(arn, ":/")+1:]
	return service + ":" + strings.TrimPrefix(name, prefix)
}
