package step

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ordoflow/ordo/internal/canonjson"
)

// Request is what a step receives.
type Request struct {
	Workflow string `json:"workflow"`
	Run      string `json:"run"`
	Step     string `json:"step"`
	// Function is the registered function (or Lambda) name.
	Function string `json:"function,omitempty"`
	Attempt  int    `json:"attempt"`
	// IdempotencyKey is "<run>/<step>" ("<run>/<step>#<item>" for a map
	// item, "<run>/<step>~" for a compensation): the same for every attempt
	// of the step, so a downstream API that de-duplicates on it performs
	// the step's work once even when a retry follows an attempt whose
	// result was lost (a timeout after the work was done, or a process that
	// stopped while the attempt ran: see orchestrator.MaxReclaims). Attempt tells
	// attempts apart. The engine invokes each attempt once: it journals a
	// lease with the attempt and invokes it again only after that lease has
	// expired, as a new attempt.
	IdempotencyKey string          `json:"idempotencyKey"`
	Input          json.RawMessage `json:"input,omitempty"`
	State          json.RawMessage `json:"state,omitempty"`
	// Index is the 1-based element of a map step (0 otherwise).
	Index int `json:"index,omitempty"`
	// Token is set for async steps: complete it (API, CLI) to finish the
	// step; until then the run waits.
	Token string `json:"token,omitempty"`
	// Compensation is true when the call undoes the step (its input is
	// {"input": the step's input, "output": its output}).
	Compensation bool `json:"compensation,omitempty"`
	// Trace is the W3C traceparent of the span that invoked this attempt,
	// when the platform traces runs: a step's own spans join the run's
	// trace as its children.
	Trace string `json:"trace,omitempty"`
}

// Effect is a side effect a step asks the platform to perform after its
// result is journaled (send a message, publish an event, call a webhook).
type Effect struct {
	// Kind selects the effect handler ("sqs", "kinesis", "http", "log", ...).
	Kind string `json:"kind"`
	// Target is handler-specific: a queue, a stream, a URL.
	Target  string          `json:"target,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Result is what a step returns on success.
type Result struct {
	Output json.RawMessage `json:"output,omitempty"`
	// State is a JSON merge patch (RFC 7386) applied to the run's state.
	State   json.RawMessage `json:"state,omitempty"`
	Effects []Effect        `json:"effects,omitempty"`
}

// Response is the wire form of a step's outcome (the Lambda payload): a
// result, or an error that says whether it may be retried. Carrying the
// error as data keeps terminal/retryable exact across the Lambda boundary.
type Response struct {
	Result
	Error *Failure `json:"error,omitempty"`
}

// Failure is the wire form of a step error.
type Failure struct {
	Message  string `json:"message"`
	Kind     string `json:"kind,omitempty"`
	Terminal bool   `json:"terminal,omitempty"`
}

// Handler runs one step attempt.
type Handler interface {
	Handle(ctx context.Context, req Request) (Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request) (Result, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req Request) (Result, error) { return f(ctx, req) }

// Func adapts a typed function to Handler: the request input is decoded into
// In, Out is encoded as the output. Inside fn, RequestFrom, Emit and
// SetState reach the rest of the contract.
func Func[In, Out any](fn func(ctx context.Context, in In) (Out, error)) Handler {
	return HandlerFunc(func(ctx context.Context, req Request) (Result, error) {
		var in In
		if len(req.Input) > 0 && string(req.Input) != "null" {
			if err := decodeInput(req.Input, &in); err != nil {
				return Result{}, Terminal(fmt.Errorf("step %s: decode input: %w", req.Step, err))
			}
		}
		c := &collector{req: req}
		out, err := fn(context.WithValue(ctx, ctxKey{}, c), in)
		if err != nil {
			return Result{}, err
		}
		b, err := encodeOutput(out)
		if err != nil {
			return Result{}, Terminal(fmt.Errorf("step %s: encode output: %w", req.Step, err))
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return Result{Output: b, State: c.state, Effects: c.effects}, nil
	})
}

type ctxKey struct{}

type collector struct {
	req     Request
	mu      sync.Mutex
	state   json.RawMessage
	effects []Effect
}

func from(ctx context.Context) *collector {
	c, _ := ctx.Value(ctxKey{}).(*collector)
	return c
}

// RequestFrom returns the request of the step running in ctx.
func RequestFrom(ctx context.Context) (Request, bool) {
	c := from(ctx)
	if c == nil {
		return Request{}, false
	}
	return c.req, true
}

// Emit records a side effect to be journaled with the step's result. It is
// a no-op outside a step.
func Emit(ctx context.Context, e Effect) {
	if c := from(ctx); c != nil {
		c.mu.Lock()
		c.effects = append(c.effects, e)
		c.mu.Unlock()
	}
}

// SetState sets the step's state patch (a JSON merge patch, from any value
// that encodes to a JSON object). The last call wins.
func SetState(ctx context.Context, patch any) error {
	c := from(ctx)
	if c == nil {
		return errors.New("step: SetState outside a step")
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("step: state patch: %w", err)
	}
	c.mu.Lock()
	c.state = b
	c.mu.Unlock()
	return nil
}

// decodeInput is json.Unmarshal(raw, in), without the decoder when In is
// json.RawMessage: the copy is the same once raw is known to be JSON.
func decodeInput[In any](raw json.RawMessage, in *In) error {
	if p, ok := any(in).(*json.RawMessage); ok && json.Valid(raw) {
		*p = slices.Clone(bytes.TrimSpace(raw))
		return nil
	}
	return json.Unmarshal(raw, in)
}

// encodeOutput is json.Marshal(out), without the encoder when Out is a
// json.RawMessage already in the form Marshal would give it (valid and
// compact, with <, > and & escaped): Marshal would copy it unchanged.
func encodeOutput[Out any](out Out) ([]byte, error) {
	if raw, ok := any(out).(json.RawMessage); ok && len(raw) > 0 && canonjson.Is(raw) {
		return slices.Clone(raw), nil
	}
	return json.Marshal(out)
}
