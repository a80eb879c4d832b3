package internal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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

// HandleSQS processes an SQS batch, records in parallel. The results of
// asynchronous steps (destination records) are grouped by run: each run's
// results are journaled in one commit by one drive, so a fan-out's results
// arriving together do not race each other.
func (o *Orchestrator) HandleSQS(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
		wg   sync.WaitGroup
		sem  = make(chan struct{}, o.parallel)
	)
	fail := func(ids ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
	}
	groups, rest := o.groupResults(ev.Records)
	for _, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := o.results(ctx, g); err != nil {
				o.log.Error("results failed; they will be redelivered", "run", g.run, "records", len(g.recs), "err", err)
				fail(g.ids()...)
			}
		}()
	}
	for _, rec := range rest {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			channel := Channel("sqs", rec.EventSourceARN, o.prefix)
			if err := o.process(ctx, channel, "sqs:"+rec.MessageId, []byte(rec.Body)); err != nil {
				o.log.Error("record failed; it will be redelivered", "channel", channel, "messageId", rec.MessageId, "err", err)
				fail(rec.MessageId)
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
	if msg.Result != nil { // from a Kinesis record or a resubmission: a group of one
		return o.results(ctx, resultGroup{run: msg.Run, recs: []resultRecord{{channel: channel, trigger: trigger, body: body, result: *msg.Result}}})
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
		// This record's drive, below, is this engine's: the start journals
		// the run's first decision with RunStarted (one commit fewer), and
		// the attempts it schedules are invoked by that drive. If this
		// process dies before, their leases expire and the redelivered
		// record's drive (or a continuation) reissues them.
		req := orchestrator.StartRequest{Workflow: msg.Workflow, Input: msg.Input, Key: msg.Key, Trigger: trigger, Decide: true}
		st, err := o.engine.Start(ctx, req)
		if errors.Is(err, orchestrator.ErrUnknownWorkflow) {
			// Pushed since this container last refreshed its definitions?
			// (One query of that workflow's; a trigger for a workflow that
			// does not exist goes to review after it.)
			if rerr := o.engine.Refresh(ctx, msg.Workflow); rerr != nil {
				return rerr
			}
			st, err = o.engine.Start(ctx, req)
		}
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
	return o.schedule(ctx, run, out)
}

// resultRecord is one destination record of a batch.
type resultRecord struct {
	id, channel, trigger string
	body                 []byte
	result               orchestrator.StepResult
}

// resultGroup is the results of one run in a batch.
type resultGroup struct {
	run  string
	recs []resultRecord
}

func (g resultGroup) ids() []string {
	ids := make([]string, len(g.recs))
	for i, r := range g.recs {
		ids[i] = r.id
	}
	return ids
}

// groupResults sets apart the records that are well-formed results of
// asynchronous steps, grouped by run, from the rest (processed one by one,
// malformed results included: they go to review).
func (o *Orchestrator) groupResults(recs []events.SQSMessage) ([]resultGroup, []events.SQSMessage) {
	var groups []resultGroup
	var rest []events.SQSMessage
	at := map[string]int{}
	for _, rec := range recs {
		if !strings.Contains(rec.Body, `"requestPayload"`) {
			rest = append(rest, rec)
			continue
		}
		channel, trigger := Channel("sqs", rec.EventSourceARN, o.prefix), "sqs:"+rec.MessageId
		msg, err := o.decoder.Decode(channel, trigger, []byte(rec.Body))
		if err != nil || msg.Result == nil {
			rest = append(rest, rec)
			continue
		}
		i, ok := at[msg.Run]
		if !ok {
			i = len(groups)
			at[msg.Run] = i
			groups = append(groups, resultGroup{run: msg.Run})
		}
		groups[i].recs = append(groups[i].recs, resultRecord{id: rec.MessageId, channel: channel, trigger: trigger,
			body: []byte(rec.Body), result: *msg.Result})
	}
	return groups, rest
}

// results journals a run's asynchronous step results with its next
// decision and schedules what comes next (see drive). A duplicate or late
// result is dropped by the engine; results for a run that does not exist
// go to review.
func (o *Orchestrator) results(ctx context.Context, g resultGroup) error {
	rs := make([]orchestrator.StepResult, len(g.recs))
	for i, r := range g.recs {
		rs[i] = r.result
	}
	out, err := o.engine.DriveResults(ctx, g.run, rs...)
	if errors.Is(err, journal.ErrNotFound) {
		var errs []error
		for _, r := range g.recs {
			errs = append(errs, o.review(ctx, r.channel, r.trigger, r.body,
				fmt.Errorf("result of %s for run %s, which does not exist: %w", r.result, g.run, err)))
		}
		return errors.Join(errs...)
	}
	if err != nil {
		return err
	}
	return o.schedule(ctx, g.run, out)
}

// schedule sends the continuations a Drive's outcome asks for.
func (o *Orchestrator) schedule(ctx context.Context, run string, out orchestrator.Outcome) error {
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
