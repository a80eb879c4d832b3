package internal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Orchestrator is the orchestrator Lambda's handler: it decodes each record
// of an SQS or Kinesis batch, starts or drives the run it names, and hands
// the run on (a delayed continuation message) when it must wait or when the
// invocation's deadline nears. It reports per-record failures, so one bad
// record never fails or blocks its batch, and records a malformed record on
// the review path instead of dropping it.
type Orchestrator struct {
	engine   *orchestrator.Engine
	store    journal.Store
	conts    *Continuations
	decoder  *Decoder
	prefix   string
	log      *slog.Logger
	parallel int
	now      func() time.Time

	refreshMu   sync.Mutex
	refreshedAt time.Time
}

// refreshEvery is how often the handler picks up definitions pushed while
// the function is warm (versioning: new runs start on the newest).
const refreshEvery = 30 * time.Second

func (o *Orchestrator) refresh(ctx context.Context) {
	o.refreshMu.Lock()
	defer o.refreshMu.Unlock()
	if o.now().Sub(o.refreshedAt) < refreshEvery {
		return
	}
	if err := o.engine.Refresh(ctx); err != nil {
		o.log.Warn("definitions not refreshed", "err", err)
		return
	}
	o.refreshedAt = o.now()
}

// NewOrchestrator wires the handler. prefix is ORDO_RESOURCE_PREFIX.
func NewOrchestrator(engine *orchestrator.Engine, conts *Continuations, prefix string, log *slog.Logger) *Orchestrator {
	o := &Orchestrator{engine: engine, store: engine.Store(), conts: conts, prefix: prefix, log: log, parallel: 10, now: time.Now}
	o.decoder = NewDecoder(func() []*workflow.Definition { return engine.Workflows() })
	return o
}

// Handle is the Lambda entry point: it accepts SQS and Kinesis events.
func (o *Orchestrator) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource  string `json:"eventSource"`
			EventSource2 string `json:"EventSource"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("orchestrator: event is not JSON: %w", err)
	}
	if len(probe.Records) == 0 {
		return events.SQSEventResponse{}, nil
	}
	o.refresh(ctx)
	switch src := probe.Records[0].EventSource + probe.Records[0].EventSource2; src {
	case "aws:sqs":
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("orchestrator: SQS event: %w", err)
		}
		return o.HandleSQS(ctx, ev), nil
	case "aws:kinesis":
		var ev events.KinesisEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("orchestrator: Kinesis event: %w", err)
		}
		return o.HandleKinesis(ctx, ev), nil
	default:
		return nil, fmt.Errorf("orchestrator: unsupported event source %q", src)
	}
}

// HandleSQS processes an SQS batch, records in parallel.
func (o *Orchestrator) HandleSQS(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
		wg   sync.WaitGroup
		sem  = make(chan struct{}, o.parallel)
	)
	for _, rec := range ev.Records {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			channel := Channel("sqs", rec.EventSourceARN, o.prefix)
			if err := o.process(ctx, channel, "sqs:"+rec.MessageId, []byte(rec.Body)); err != nil {
				o.log.Error("record failed; it will be redelivered", "channel", channel, "messageId", rec.MessageId, "err", err)
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return resp
}

// HandleKinesis processes a Kinesis batch in order; on the first failure it
// reports that record, so the shard resumes from it.
func (o *Orchestrator) HandleKinesis(ctx context.Context, ev events.KinesisEvent) events.KinesisEventResponse {
	for _, rec := range ev.Records {
		channel := Channel("kinesis", rec.EventSourceArn, o.prefix)
		if err := o.process(ctx, channel, "kinesis:"+rec.Kinesis.SequenceNumber, rec.Kinesis.Data); err != nil {
			o.log.Error("record failed; the shard resumes from it", "channel", channel, "sequence", rec.Kinesis.SequenceNumber, "err", err)
			return events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{{ItemIdentifier: rec.Kinesis.SequenceNumber}}}
		}
	}
	return events.KinesisEventResponse{}
}

// process handles one record. A nil error means the record's work is safely
// journaled or handed on; an error means "redeliver it".
func (o *Orchestrator) process(ctx context.Context, channel, trigger string, body []byte) error {
	if c, ok := redelivery(body); ok {
		channel, trigger, body = c.Channel, c.Trigger, c.Input
	}
	msg, err := o.decoder.Decode(channel, trigger, body)
	if errors.Is(err, ErrMalformed) {
		return o.review(ctx, channel, trigger, body, err)
	}
	if err != nil {
		return err
	}
	// Every command below only journals and reports the run as needing a
	// drive: this record's drive, at the end, is the one that drives it.
	//
	// A record is redelivered when its handling failed, possibly after its
	// drive settled the run and before that drive sent the run's outbox
	// (the effects of its last commit). So a record whose command finds
	// the run already settled (a duplicate start, an event for a finished
	// run, a callback no longer awaited) still drives it: a drive of a
	// settled run sends what its outbox holds and does nothing else.
	switch {
	case msg.Event != "":
		_, err := o.engine.Signal(ctx, msg.Run, msg.Event, msg.Input)
		if errors.Is(err, orchestrator.ErrFinished) {
			return errors.Join(o.drive(ctx, msg.Run), o.review(ctx, channel, trigger, body, err))
		}
		if errors.Is(err, orchestrator.ErrBadInput) || errors.Is(err, journal.ErrNotFound) || errors.Is(err, journal.ErrTooLarge) {
			return o.review(ctx, channel, trigger, body, err)
		}
		if err != nil {
			return err
		}
	case msg.Token != "":
		c, err := callback.Peek(msg.Token) // routing only: Complete verifies
		if err != nil {
			err = fmt.Errorf("%w: %w", orchestrator.ErrBadInput, err)
		} else {
			_, err = o.engine.Complete(ctx, msg.Token, step.Response{Result: step.Result{Output: msg.Input}, Error: msg.Failure})
		}
		if errors.Is(err, orchestrator.ErrNotAwaited) {
			o.log.Info("callback for an attempt no longer awaited; dropped", "trigger", trigger, "err", err)
			return o.drive(ctx, c.Run)
		}
		if errors.Is(err, orchestrator.ErrBadInput) || errors.Is(err, journal.ErrNotFound) || errors.Is(err, journal.ErrTooLarge) {
			return o.review(ctx, channel, trigger, body, err)
		}
		if err != nil {
			return err
		}
		msg.Run = c.Run
	}
	run := msg.Run
	if run == "" {
		st, err := o.engine.Start(ctx, orchestrator.StartRequest{Workflow: msg.Workflow, Input: msg.Input, Key: msg.Key, Trigger: trigger})
		// A payload the journal cannot take fails the same way on every
		// redelivery: it goes to review, as a malformed record does.
		if errors.Is(err, orchestrator.ErrUnknownWorkflow) || errors.Is(err, orchestrator.ErrBadInput) || errors.Is(err, journal.ErrTooLarge) {
			return o.review(ctx, channel, trigger, body, err)
		}
		if err != nil {
			return err
		}
		run = st.Run
		if !st.Created {
			o.log.Info("duplicate start; the run exists", "run", run, "trigger", trigger)
		} else if !st.NeedsDrive(run) {
			return nil // deferred: its turn comes with a drive of the run before it
		}
	}
	return o.drive(ctx, run)
}

// drive advances run and schedules what comes next: the run's next turn (a
// continuation now, or a delayed one at its wake-up time) and the other
// runs the Drive left needing a drive. This is the one place the
// orchestrator schedules drives.
func (o *Orchestrator) drive(ctx context.Context, run string) error {
	out, err := o.engine.Drive(ctx, run)
	if errors.Is(err, journal.ErrNotFound) {
		o.log.Warn("continuation for a run that does not exist; dropped", "run", run)
		return nil
	}
	if err != nil {
		return err
	}
	// Use a fresh context: the invocation's may be about to expire.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	errs := []error{o.conts.Schedule(sctx, out.Wake...)}
	switch {
	case out.Continue:
		errs = append(errs, o.conts.Continue(sctx, run, 0))
	case !out.WakeAt.IsZero():
		errs = append(errs, o.conts.Continue(sctx, run, out.WakeAt.Sub(o.now())))
	}
	return errors.Join(errs...)
}

// review records a record that cannot be processed as a review item
// (journal.ReviewMalformedTrigger) with the reason: listed by `ordo review
// list` and GET /v1/review, never lost, never a run. A redelivery of the
// record finds its item and adds nothing.
func (o *Orchestrator) review(ctx context.Context, channel, trigger string, body []byte, cause error) error {
	reviews, ok := o.store.(journal.Reviews)
	if !ok {
		return fmt.Errorf("record malformed %s: %T has no review items (journal.Reviews): %w", trigger, o.store, cause)
	}
	payload := json.RawMessage(body)
	if !json.Valid(body) {
		payload, _ = json.Marshal(string(body))
	}
	it := journal.ReviewItem{ID: journal.ReviewID(journal.ReviewMalformedTrigger, trigger), Kind: journal.ReviewMalformedTrigger,
		Reason: cause.Error(), Payload: payload, Source: channel, Created: o.now()}
	created, err := reviews.PutReview(ctx, it)
	if err != nil {
		return fmt.Errorf("record malformed %s: %w", trigger, err)
	}
	if created {
		o.log.Warn("malformed record sent to review", "item", it.ID, "channel", channel, "reason", cause.Error())
	}
	return nil
}
