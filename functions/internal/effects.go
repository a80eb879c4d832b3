package internal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/effect/egress"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
)

// Effect kinds the effects Lambda performs. Persisted in journals: never
// rename one.
const (
	EffectKindSQS     = "sqs"     // SendMessage; target: queue URL, name or ARN; body: the payload
	EffectKindKinesis = "kinesis" // PutRecord; target: stream name or ARN; data: the payload; partition key: run
	EffectKindHTTP    = "http"    // POST the payload to the target URL with Idempotency-Key: <effect id>
	EffectKindLog     = "log"     // a structured log line
	EffectKindEmail   = "email"   // SendMessage to the notifications queue; target: the address
	EffectKindPublish = "publish" // PutRecord to the events stream; target: the topic
)

// EffectIDAttribute is the SQS message attribute carrying an effect's
// stable id (standard queues have no deduplication: receivers de-duplicate
// by it).
const EffectIDAttribute = "ordo-effect-id"

// EffectQueueAPI is the part of the SQS client effect handlers use.
type EffectQueueAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

// EffectStreamAPI is the part of the Kinesis client effect handlers use.
type EffectStreamAPI interface {
	PutRecord(ctx context.Context, in *kinesis.PutRecordInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
}

// EffectsConfig holds what the effects Lambda's handlers need.
type EffectsConfig struct {
	SQS     EffectQueueAPI
	Kinesis EffectStreamAPI
	// HTTPTargets is where "http" effects may go
	// (ORDO_HTTP_EFFECT_TARGETS; package egress): nil allows nothing.
	HTTPTargets *egress.Policy
	// HTTPTimeout bounds each "http" effect request (default 10s).
	HTTPTimeout time.Duration
	// NotificationsQueueURL receives "email" effects (ORDO_NOTIFICATIONS_QUEUE_URL).
	NotificationsQueueURL string
	// EventsStream receives "publish" effects (ORDO_EVENTS_STREAM).
	EventsStream string
	// MaxReceives is the effects queue's maxReceiveCount
	// (ORDO_EFFECTS_MAX_RECEIVE): a failure on that delivery is the last
	// before the DLQ, and is also put on the review path. 0: never.
	MaxReceives int
	Log         *slog.Logger
	// Tracer, when set, makes each delivery a span of its run's trace.
	Tracer *observe.Tracer
	// Sealer opens the sealed values of payloads for the handlers that
	// perform effects (the KMS data keys the orchestrator sealed them with).
	Sealer sensitive.Sealer
}

// Effects is the effects Lambda's handler: it executes each effect of an
// SQS batch through an effect.Executor, which journals EffectSucceeded or
// EffectFailed on the run.
//
//	situation                                   outcome
//	------------------------------------------  -----------------------------------------------
//	handler succeeded                           EffectSucceeded journaled; message deleted
//	success already journaled (a redelivery)    skipped; message deleted
//	handler failed (after the executor's tries) EffectFailed journaled; batch item failure: SQS
//	                                            retries, then the effects DLQ
//	... on the last delivery (MaxReceives)      also a review item failed-effect/<effect id>
//	                                            naming the run and the error
//	a retry succeeds after EffectFailed         EffectSucceeded journaled too; message deleted
//	unknown kind                                EffectFailed journaled (run to review); deleted
//	journal unavailable                         batch item failure (retried)
//	malformed body, run id readable             NeedsReview journaled on the run; deleted
//	malformed body, no run (or no such run)     logged; batch item failure: ends in the DLQ
type Effects struct {
	exec     *effect.Executor
	store    journal.Store
	log      *slog.Logger
	parallel int
	now      func() time.Time
	// maxReceives: see EffectsConfig.MaxReceives.
	maxReceives int
}

// NewEffects returns the handler over store with the handlers of every
// EffectKind* registered on an effect.Executor.
func NewEffects(store journal.Store, cfg EffectsConfig) *Effects {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HTTPTargets == nil {
		cfg.HTTPTargets = egress.MustParse("")
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 10 * time.Second
	}
	exec := effect.NewExecutor(store)
	traced := func(h effect.Handler) effect.Handler {
		if cfg.Tracer == nil {
			return h
		}
		return cfg.Tracer.Effect(h)
	}
	exec.Handle(EffectKindSQS, traced(SQSEffect(cfg.SQS)))
	exec.Handle(EffectKindKinesis, traced(KinesisEffect(cfg.Kinesis)))
	exec.Handle(EffectKindHTTP, traced(HTTPEffect(cfg.HTTPTargets, cfg.HTTPTimeout)))
	exec.Handle(EffectKindLog, traced(effect.Sealed(LogEffect(cfg.Log))))
	if cfg.Sealer != nil {
		exec.OpenWith(cfg.Sealer)
	}
	exec.Handle(EffectKindEmail, traced(EmailEffect(cfg.SQS, cfg.NotificationsQueueURL)))
	exec.Handle(EffectKindPublish, traced(PublishEffect(cfg.Kinesis, cfg.EventsStream)))
	return &Effects{exec: exec, store: store, log: cfg.Log, parallel: 10, now: time.Now, maxReceives: cfg.MaxReceives}
}

// lastDelivery reports whether m will go to the DLQ if it fails again.
func (x *Effects) lastDelivery(m events.SQSMessage) (int, bool) {
	n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return n, err == nil && x.maxReceives > 0 && n >= x.maxReceives
}

// reviewFailed puts an effect that failed on its last delivery on the
// review path: a review item (journal.ReviewFailedEffect) naming the run,
// the effect and the error, which an operator re-dispatches or discards.
// It never fails the batch: the message goes to the DLQ either way.
func (x *Effects) reviewFailed(ctx context.Context, run string, e journal.Effect, receives int, cause error) {
	reviews, ok := x.store.(journal.Reviews)
	if !ok {
		x.log.Error("failed effect not put on the review path (it is in the DLQ): the journal has no review items", "run", run, "effect", e.ID)
		return
	}
	payload, _ := json.Marshal(e)
	_, err := reviews.PutReview(ctx, journal.ReviewItem{ID: journal.ReviewID(journal.ReviewFailedEffect, e.ID),
		Kind: journal.ReviewFailedEffect, Run: run, Payload: payload, Created: x.now(),
		Reason: fmt.Sprintf("effect %s (%s → %s) of run %s failed on delivery %d, its last before the DLQ: %v",
			e.ID, e.Kind, e.Target, run, receives, cause)})
	if err != nil {
		x.log.Error("failed effect not put on the review path (it is in the DLQ)", "run", run, "effect", e.ID, "error", err.Error())
	}
}

// Executor returns the executor, to register more kinds.
func (x *Effects) Executor() *effect.Executor { return x.exec }

// HandleSQS is the Lambda entry point for the effects queue. Messages are
// grouped by run: each run's effects are executed together and their
// outcomes journaled in one commit (one load and one append per run, not
// per effect); runs are handled in parallel.
func (x *Effects) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu       sync.Mutex
		failures []events.SQSBatchItemFailure
		wg       sync.WaitGroup
		sem      = make(chan struct{}, max(x.parallel, 1))
	)
	fail := func(ids ...string) {
		mu.Lock()
		for _, id := range ids {
			failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		mu.Unlock()
	}
	type item struct {
		message events.SQSMessage
		effect  journal.Effect
	}
	byRun := map[string][]item{}
	var runs []string
	for _, m := range ev.Records {
		msg, err := decodeEffectMessage([]byte(m.Body))
		if err != nil {
			if err := x.malformed(ctx, m, msg.Run, err); err != nil {
				fail(m.MessageId)
			}
			continue
		}
		if _, ok := byRun[msg.Run]; !ok {
			runs = append(runs, msg.Run)
		}
		byRun[msg.Run] = append(byRun[msg.Run], item{m, msg.Effect})
	}
	for _, run := range runs {
		items := byRun[run]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			effects := make([]journal.Effect, len(items))
			for i, it := range items {
				effects[i] = it.effect
			}
			failed, err := x.exec.Run(ctx, run, effects)
			if err != nil {
				x.log.Error("effects not done: journal unavailable; left on the queue", "run", run, "error", err.Error())
				for _, it := range items {
					fail(it.message.MessageId)
				}
				return
			}
			for _, it := range items {
				ferr := failed[it.effect.ID]
				switch {
				case ferr == nil:
				case errors.Is(ferr, effect.ErrNoHandler):
					// Retrying cannot help; the failure is journaled on the run.
					x.log.Error("effect of an unknown kind: journaled as failed", "run", run, "effect", it.effect.ID, "error", ferr.Error())
				default:
					x.log.Error("effect failed; left on the queue", "run", run, "effect", it.effect.ID, "kind", it.effect.Kind, "error", ferr.Error())
					if n, last := x.lastDelivery(it.message); last {
						x.reviewFailed(ctx, run, it.effect, n, ferr)
					}
					fail(it.message.MessageId)
				}
			}
		}()
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// decodeEffectMessage parses an effects-queue body. On error the returned
// message holds whatever run id could be read.
func decodeEffectMessage(body []byte) (EffectMessage, error) {
	var msg EffectMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		var partial struct {
			Run any `json:"run"`
		}
		if json.Unmarshal(body, &partial) == nil {
			if s, ok := partial.Run.(string); ok {
				msg.Run = s
			}
		}
		return EffectMessage{Run: msg.Run}, fmt.Errorf("body is not an effect message: %w", err)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"run", msg.Run}, {"effect.id", msg.Effect.ID}, {"effect.kind", msg.Effect.Kind}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return msg, fmt.Errorf("effect message without %s", strings.Join(missing, ", "))
	}
	return msg, nil
}

// malformed records a message that cannot be executed: on its run's review
// path when the run can be read, else it stays on the queue for the DLQ.
func (x *Effects) malformed(ctx context.Context, m events.SQSMessage, run string, cause error) error {
	log := x.log.With("messageId", m.MessageId, "reason", cause.Error(), "body", clipBody(sensitive.RedactText(m.Body)))
	if run == "" {
		log.Error("malformed effect message without a run id: left for the effects DLQ")
		return fmt.Errorf("malformed effect message %s: %w", m.MessageId, cause)
	}
	trigger := "sqs:" + m.MessageId
	input := json.RawMessage(m.Body)
	if !json.Valid(input) {
		input, _ = json.Marshal(m.Body)
	}
	now := x.now()
	ev := journal.Event{Kind: journal.NeedsReview, At: now, Trigger: trigger, Input: input,
		Reason: "malformed effect message: " + cause.Error()}
	err := x.appendOnce(ctx, run, ev, func(old journal.Event) bool {
		return old.Kind == journal.NeedsReview && old.Trigger == trigger
	}, true)
	if err != nil {
		log.Error("malformed effect message could not be journaled: left for the effects DLQ", "run", run, "error", err.Error())
		return fmt.Errorf("malformed effect message %s: %w (journal: %w)", m.MessageId, cause, err)
	}
	log.Warn("malformed effect message sent to review", "run", run)
	return nil
}

// appendOnce appends ev to run unless an event matching dup is already
// journaled, reloading on conflicts. review moves a live run to review.
func (x *Effects) appendOnce(ctx context.Context, run string, ev journal.Event, dup func(journal.Event) bool, review bool) error {
	for {
		head, evs, err := x.store.Load(ctx, run)
		if err != nil {
			return err
		}
		seq := head.Seq
		for _, old := range evs {
			if dup(old) {
				return nil
			}
			seq = max(seq, old.Seq)
		}
		c := journal.Commit{Run: run, After: seq, Events: []journal.Event{ev}, At: ev.At}
		if review && !head.Status.Terminal() {
			c.Status = journal.StatusReview
		}
		_, err = x.store.Append(ctx, c)
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		return err
	}
}

func clipBody(s string) string {
	const n = 512
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// effectBody is an effect's payload as a message body (SQS and Kinesis refuse
// empty ones).
func effectBody(e journal.Effect) []byte {
	if len(e.Payload) == 0 {
		return []byte("{}")
	}
	return e.Payload
}

func effectAttributes(run string, e journal.Effect) map[string]sqstypes.MessageAttributeValue {
	return map[string]sqstypes.MessageAttributeValue{
		EffectIDAttribute: {DataType: aws.String("String"), StringValue: aws.String(e.ID)},
		"ordo-run":        {DataType: aws.String("String"), StringValue: aws.String(run)},
	}
}

// effectPartitionKey is run, hashed when longer than Kinesis's 256 characters.
func effectPartitionKey(run string) string {
	if utf8.RuneCountInString(run) <= 256 {
		return run
	}
	sum := sha256.Sum256([]byte(run))
	return hex.EncodeToString(sum[:])
}

// queueURLs resolves "sqs" effect targets (URL, name or ARN) to queue URLs.
type queueURLs struct {
	client EffectQueueAPI
	cache  sync.Map // target -> URL
}

func (q *queueURLs) resolve(ctx context.Context, target string) (string, error) {
	if strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "http://") {
		return target, nil
	}
	if u, ok := q.cache.Load(target); ok {
		return u.(string), nil
	}
	in := &sqs.GetQueueUrlInput{QueueName: aws.String(target)}
	if strings.HasPrefix(target, "arn:") { // arn:aws:sqs:<region>:<account>:<name>
		parts := strings.Split(target, ":")
		if len(parts) != 6 || parts[2] != "sqs" {
			return "", fmt.Errorf("target %q is not an SQS queue ARN", target)
		}
		in = &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])}
	}
	if target == "" {
		return "", errors.New("sqs effect without a target queue")
	}
	out, err := q.client.GetQueueUrl(ctx, in)
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", target, err)
	}
	u := aws.ToString(out.QueueUrl)
	q.cache.Store(target, u)
	return u, nil
}

// SQSEffect sends the payload to the target queue, with the effect id in
// the ordo-effect-id message attribute.
func SQSEffect(client EffectQueueAPI) effect.Handler {
	queues := &queueURLs{client: client}
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		u, err := queues.resolve(ctx, e.Target)
		if err != nil {
			return err
		}
		_, err = queues.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u),
			MessageBody: aws.String(string(effectBody(e))), MessageAttributes: effectAttributes(run, e)})
		if err != nil {
			return fmt.Errorf("sqs %s: %w", e.Target, err)
		}
		return nil
	})
}

func putRecordInput(stream string, data []byte, run string) *kinesis.PutRecordInput {
	in := &kinesis.PutRecordInput{Data: data, PartitionKey: aws.String(effectPartitionKey(run))}
	if strings.HasPrefix(stream, "arn:") {
		in.StreamARN = aws.String(stream)
	} else {
		in.StreamName = aws.String(stream)
	}
	return in
}

// KinesisEffect puts the payload on the target stream, partitioned by run
// (a run's records stay in order).
func KinesisEffect(client EffectStreamAPI) effect.Handler {
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		if e.Target == "" {
			return errors.New("kinesis effect without a target stream")
		}
		if _, err := client.PutRecord(ctx, putRecordInput(e.Target, effectBody(e), run)); err != nil {
			return fmt.Errorf("kinesis %s: %w", e.Target, err)
		}
		return nil
	})
}

// HTTPEffect POSTs the payload to the target URL with the effect id as
// Idempotency-Key; any status but 2xx is a failure. Only targets allows
// are reached: the URL's host is checked, then every address dialed
// (metadata, link-local, loopback and private addresses are refused unless
// listed).
func HTTPEffect(targets *egress.Policy, timeout time.Duration) effect.Handler {
	client := targets.Client(timeout)
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		u, err := url.Parse(e.Target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("http effect target %q is not an http(s) URL", e.Target)
		}
		if err := targets.CheckURL(u); err != nil {
			return fmt.Errorf("http effect target %q: %w", e.Target, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(effectBody(e)))
		if err != nil {
			return fmt.Errorf("http %s: %w", e.Target, err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", e.ID)
		req.Header.Set("Ordo-Run", run)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("http %s: %w", e.Target, err)
		}
		defer resp.Body.Close()
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("http %s: %s: %s", e.Target, resp.Status, strings.TrimSpace(string(snippet)))
		}
		return nil
	})
}

// LogEffect writes the effect as a structured log line.
func LogEffect(log *slog.Logger) effect.Handler {
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		attrs := []any{"run", run, "effect", e.ID, "target", e.Target}
		if len(e.Payload) > 0 {
			attrs = append(attrs, "payload", json.RawMessage(sensitive.Redact(e.Payload)))
		}
		log.InfoContext(ctx, "effect", attrs...)
		return nil
	})
}

// Notification is the body of a message on the notifications queue (an
// "email" effect). ID is stable across redeliveries: the mailer de-duplicates by it.
type Notification struct {
	ID      string          `json:"id"`
	Run     string          `json:"run"`
	To      string          `json:"to"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// EmailEffect queues the email for the mailer on the notifications queue.
func EmailEffect(client EffectQueueAPI, queueURL string) effect.Handler {
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		if queueURL == "" {
			return errors.New("email effect: no notifications queue configured (ORDO_NOTIFICATIONS_QUEUE_URL)")
		}
		b, err := json.Marshal(Notification{ID: e.ID, Run: run, To: e.Target, Payload: e.Payload})
		if err != nil {
			return fmt.Errorf("email %s: %w", e.ID, err)
		}
		_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL),
			MessageBody: aws.String(string(b)), MessageAttributes: effectAttributes(run, e)})
		if err != nil {
			return fmt.Errorf("email %s: %w", e.ID, err)
		}
		return nil
	})
}

// Published is the record a "publish" effect puts on the events stream.
// ID is stable across redeliveries: consumers de-duplicate by it.
type Published struct {
	ID    string          `json:"id"`
	Run   string          `json:"run"`
	Topic string          `json:"topic,omitempty"`
	Event json.RawMessage `json:"event,omitempty"`
}

// PublishEffect puts the domain event on the events stream, partitioned by
// run.
func PublishEffect(client EffectStreamAPI, stream string) effect.Handler {
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		if stream == "" {
			return errors.New("publish effect: no events stream configured (ORDO_EVENTS_STREAM)")
		}
		b, err := json.Marshal(Published{ID: e.ID, Run: run, Topic: e.Target, Event: e.Payload})
		if err != nil {
			return fmt.Errorf("publish %s: %w", e.ID, err)
		}
		if _, err := client.PutRecord(ctx, putRecordInput(stream, b, run)); err != nil {
			return fmt.Errorf("publish %s to %s: %w", e.ID, stream, err)
		}
		return nil
	})
}
