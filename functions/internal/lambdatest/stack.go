package lambdatest

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// Queue names of the stack (prefix excluded), as template.yaml names them.
const (
	OrchestratorQueue = "orchestrator"
	EffectsQueue      = "effects"
	OrdersQueue       = "orders"
	prefix            = "ordo-"
)

// Config describes a stack.
type Config struct {
	// Store is the journal (a dynamojournal on DynamoDB Local, with
	// Faults.APIOption on its client to inject SDK faults).
	Store journal.Store
	// Registry holds the step functions the Lambda endpoint serves.
	Registry *step.Registry
	// Setup registers definitions on each orchestrator container's engine
	// at its cold start (as the orchestrator's main does with
	// workflows.Setup). Nil: the handler's own refresh loads the stored ones.
	Setup func(ctx context.Context, e *orchestrator.Engine) error
	// Drivers is how many orchestrator Lambda containers handle messages
	// at once (default 4).
	Drivers int
	// Copies is the most deliveries of each message (default 1).
	Copies int
	// Batch is the largest SQS batch handed to a handler (default 3).
	Batch int
	// Timeout is each orchestrator invocation's deadline (default 60s, the
	// orchestrator's Timeout in template.yaml; the engine hands off 5s
	// before it).
	Timeout time.Duration
	// Visibility is the queues' visibility timeout (default 500ms). Far
	// shorter than template.yaml's (6x the orchestrator's timeout) on
	// purpose: a message comes back while its first handler still runs, so
	// two containers drive one run at once.
	Visibility time.Duration
	// Effects are handlers registered on the effects Lambda's executor
	// beside the built-in kinds (by kind).
	Effects map[string]effect.Handler
	Faults  *Faults
	// StepInvoke is the orchestrator's default invoke mode of steps
	// (workflow.InvokeSync when empty; ORDO_STEP_INVOKE in AWS).
	// Asynchronous invokes' destination records go to the orchestrator's
	// queue, delivered like every message (up to Copies times).
	StepInvoke string
	// CallbackKeys sign and verify callback tokens in every container and
	// the API's engine, as the deployment's secret does (default: a random
	// key of the stack's own).
	CallbackKeys *callback.Keyring
	// Sealer seals and opens sensitive values in every container, as the
	// deployment's KMS key does (default: one random local key).
	Sealer sensitive.Sealer
	Log    *slog.Logger
	Seed   uint64
	// Tracer, when set, traces as the Lambdas' mains do: commits and
	// invocations in the orchestrator containers, deliveries and their
	// commits in the effects container.
	Tracer *observe.Tracer
	// StepTimeout is the orchestrator's ORDO_STEP_FUNCTION_TIMEOUT: the
	// timeout of step functions whose configuration cannot be read
	// (Functions.SetTimeout sets those that can; 0: DefaultStepTimeout).
	StepTimeout time.Duration
}

// Stack is the orchestrator, effects and API Lambdas' handler code wired
// as AWS wires them, in one process: the real SDK clients (SQS, Lambda,
// DynamoDB) against in-process SQS and Lambda endpoints and the given
// journal; several orchestrator containers handling the same queue at
// once; every message possibly delivered more than once, out of order.
type Stack struct {
	cfg       Config
	Queues    *Queues
	Functions *Functions
	// Engine is the API Lambda's engine (commands, no step invoker);
	// Starter its api.Starter.
	Engine  *orchestrator.Engine
	Starter *internal.QueueStarter

	sqs    *sqs.Client
	lambda *awslambda.Client
	conts  *internal.Continuations

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	rng       *rand.Rand
	coldStart int
	crashes   int
}

// Start starts a stack; Close stops it.
func Start(cfg Config) (*Stack, error) {
	if cfg.Drivers <= 0 {
		cfg.Drivers = 4
	}
	if cfg.Copies <= 0 {
		cfg.Copies = 1
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Visibility <= 0 {
		cfg.Visibility = 500 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.CallbackKeys == nil {
		k, err := callback.NewKey()
		if err != nil {
			return nil, err
		}
		cfg.CallbackKeys, _ = callback.NewKeyring(k)
	}
	if cfg.Sealer == nil {
		cfg.Sealer = localkey.Random()
	}
	s := &Stack{cfg: cfg, Queues: NewQueues(cfg.Seed), rng: rand.New(rand.NewPCG(cfg.Seed, 3))}
	s.Queues.Copies, s.Queues.Visibility = cfg.Copies, cfg.Visibility
	s.Functions = NewFunctions(cfg.Registry, prefix, cfg.Faults)
	s.Functions.Destination = func(rec []byte) { s.Queues.Send(prefix+OrchestratorQueue, string(rec), nil, 0) }
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	var apiOpts []func(*middleware.Stack) error
	if cfg.Faults != nil {
		apiOpts = append(apiOpts, cfg.Faults.APIOption)
	}
	s.sqs = sqs.New(sqs.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(s.Queues.URL()),
		APIOptions: apiOpts, DisableMessageChecksumValidation: true})
	s.lambda = awslambda.New(awslambda.Options{Region: "us-east-1", Credentials: creds,
		BaseEndpoint: aws.String(s.Functions.URL()), APIOptions: apiOpts})
	s.conts = internal.NewContinuations(s.sqs, s.Queues.QueueURL(prefix+OrchestratorQueue))
	s.Engine = orchestrator.New(cfg.Store, internal.NoInvoker{}, orchestrator.WithLogger(cfg.Log),
		orchestrator.WithCallbackKeys(cfg.CallbackKeys), orchestrator.WithSealer(cfg.Sealer))
	s.Starter = internal.NewQueueStarter(s.Engine, s.conts, cfg.Log)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for range cfg.Drivers {
		s.wg.Go(func() { s.consume(s.newOrchestrator, prefix+OrchestratorQueue, prefix+OrdersQueue) })
	}
	s.wg.Go(func() { s.consume(s.newEffects, prefix+EffectsQueue) })
	return s, nil
}

// Close stops the handlers and the endpoints.
func (s *Stack) Close() error {
	s.cancel()
	s.wg.Wait()
	s.Functions.Close()
	s.Queues.Close()
	return nil
}

// Send puts body on the queue name (OrdersQueue: an order message) as a
// producer would, through the SQS client.
func (s *Stack) Send(ctx context.Context, name, body string) error {
	_, err := s.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.Queues.QueueURL(prefix + name)),
		MessageBody: aws.String(body)})
	return err
}

// Trigger puts body on the orders queue (OrdersQueue) as a producer would
// and returns its message id: the orchestrator names the record's trigger
// "sqs:<id>", and a run it starts without a key is keyed by it.
func (s *Stack) Trigger(ctx context.Context, body string) (string, error) {
	out, err := s.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.Queues.QueueURL(prefix + OrdersQueue)),
		MessageBody: aws.String(body)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

// Counts reports the cold starts (containers created, a crash replaces
// its container) and crashes of handlers so far.
func (s *Stack) Counts() (coldStarts, crashes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.coldStart, s.crashes
}

// handler is one Lambda container's handler.
type handler func(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse

func (s *Stack) newOrchestrator() handler {
	cfg := s.cfg
	var store journal.Store = Store{Store: cfg.Store, Faults: cfg.Faults}
	var invoker orchestrator.Invoker = internal.NewLambdaInvoker(s.lambda, prefix)
	if cfg.Tracer != nil {
		store, invoker = observe.Wrap(store, cfg.Tracer), cfg.Tracer.Invoker(invoker)
	}
	engine := orchestrator.New(store, invoker,
		orchestrator.WithFunctionTimeouts(internal.NewFunctionTimeouts(s.lambda, prefix, cfg.StepTimeout)),
		orchestrator.WithDispatcher(internal.NewSQSDispatcher(s.sqs, s.Queues.QueueURL(prefix+EffectsQueue))),
		orchestrator.WithLogger(cfg.Log),
		orchestrator.WithInlineWait(2*time.Second),
		orchestrator.WithDeadlineMargin(5*time.Second),
		orchestrator.WithCallbackKeys(cfg.CallbackKeys),
		orchestrator.WithStepInvoke(cfg.StepInvoke),
		orchestrator.WithSealer(cfg.Sealer))
	if cfg.Setup != nil {
		if err := cfg.Setup(s.ctx, engine); err != nil {
			cfg.Log.Error("cold start: definitions", "err", err)
		}
	}
	h := internal.NewOrchestrator(engine, s.conts, prefix, cfg.Log)
	// The Lambda runtime hands the handler the event as JSON.
	return func(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
		raw, err := json.Marshal(ev)
		if err != nil {
			panic(err)
		}
		out, err := h.Handle(ctx, raw)
		if err != nil {
			cfg.Log.Error("orchestrator invocation failed", "err", err)
			return failAll(ev)
		}
		resp, _ := out.(events.SQSEventResponse)
		return resp
	}
}

// failAll reports every record of ev as failed (an invocation error).
func failAll(ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
	}
	return resp
}

func (s *Stack) newEffects() handler {
	var store journal.Store = Store{Store: s.cfg.Store, Faults: s.cfg.Faults}
	if s.cfg.Tracer != nil {
		store = observe.Wrap(store, s.cfg.Tracer)
	}
	x := internal.NewEffects(store, internal.EffectsConfig{Log: s.cfg.Log, Sealer: s.cfg.Sealer, Tracer: s.cfg.Tracer})
	for kind, h := range s.cfg.Effects {
		if s.cfg.Tracer != nil {
			h = s.cfg.Tracer.Effect(h)
		}
		x.Executor().Handle(kind, h)
	}
	return func(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
		resp, _ := x.HandleSQS(ctx, ev)
		return resp
	}
}

// consume is one Lambda container polling queues: each batch is one
// invocation, under its own deadline; a crash replaces the container.
func (s *Stack) consume(cold func() handler, queues ...string) {
	h := s.cold(cold)
	idle := time.NewTimer(0)
	defer idle.Stop()
	for s.ctx.Err() == nil {
		d, ok := s.receive(queues)
		if !ok {
			idle.Reset(2 * time.Millisecond)
			select {
			case <-s.ctx.Done():
			case <-s.Queues.Notify():
			case <-idle.C:
			}
			continue
		}
		if !s.invoke(h, d) {
			h = s.cold(cold)
		}
	}
}

func (s *Stack) cold(f func() handler) handler {
	s.mu.Lock()
	s.coldStart++
	s.mu.Unlock()
	return f()
}

func (s *Stack) receive(queues []string) (Delivery, bool) {
	s.mu.Lock()
	first := s.rng.IntN(len(queues))
	batch := 1 + s.rng.IntN(s.cfg.Batch)
	s.mu.Unlock()
	for i := range queues {
		if d, ok := s.Queues.Receive(queues[(first+i)%len(queues)], batch); ok {
			return d, true
		}
	}
	return Delivery{}, false
}

// invoke runs one invocation and settles its messages; it reports false
// when the container crashed.
func (s *Stack) invoke(h handler, d Delivery) bool {
	ctx, proc := WithProcess(s.ctx)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	resp := h(ctx, d.Event)
	if !proc.Crashed() {
		_ = s.cfg.Faults.Crash(ctx, CrashBeforeAck)
	}
	if proc.Crashed() || s.ctx.Err() != nil {
		s.mu.Lock()
		if proc.Crashed() {
			s.crashes++
		}
		s.mu.Unlock()
		s.Queues.Settle(d, nil, true)
		return false
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	s.Queues.Settle(d, failed, false)
	return true
}
