package lambdatest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ordoflow/ordo/journal"
)

// Kind is a fault the harness injects.
type Kind string

// Crash points: the process handling a message dies there. Everything it
// does afterwards fails, its messages are not acknowledged, and they come
// back after the visibility timeout.
const (
	CrashAfterAppend     Kind = "crash after an append"
	CrashBeforeInvoke    Kind = "crash before an invoke"
	CrashAfterInvoke     Kind = "crash after an invoke"
	CrashAfterEffectSend Kind = "crash between an effect's send and EffectDispatched"
	CrashBeforeAck       Kind = "crash before a message is acknowledged"
)

// SDK faults, injected in the clients' middleware inside the SDK's retry
// loop (where a network or service fault appears), so the SDK's retryer
// sees them first and what it gives up on reaches ordo.
const (
	DynamoThrottle  Kind = "DynamoDB throttling"
	Dynamo5xx       Kind = "DynamoDB 5xx"
	DynamoTimeout   Kind = "DynamoDB timeout (the write may have landed)"
	LambdaThrottle  Kind = "Lambda throttling"
	LambdaTimeout   Kind = "Lambda invoke timeout (the function may have run)"
	FunctionTimeout Kind = "function timed out (ran, answer lost)"
	SQSSendFailure  Kind = "SQS send failure"
	StoreFailure    Kind = "journal write failure"
	StoreLostAnswer Kind = "journal write landed, answer lost"
	InvokeFailure   Kind = "step invoke failure"
)

// ErrCrashed is what a crashed process gets from everything it calls.
var ErrCrashed = errors.New("lambdatest: the process crashed here")

// Faults injects faults at the given rates (0..1 per opportunity) and
// counts them. A nil *Faults injects nothing.
type Faults struct {
	mu     sync.Mutex
	rng    *rand.Rand
	rates  map[Kind]float64
	counts map[Kind]int
}

// NewFaults returns an injector with rates, seeded for repeatable runs.
func NewFaults(seed uint64, rates map[Kind]float64) *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(seed, 2)), rates: rates, counts: map[Kind]int{}}
}

func (f *Faults) hit(k Kind) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rates[k]
	if r <= 0 || f.rng.Float64() >= r {
		return false
	}
	f.counts[k]++
	return true
}

// Counts returns how many faults of each kind were injected.
func (f *Faults) Counts() map[Kind]int {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[Kind]int, len(f.counts))
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// Total is the number of faults injected.
func (f *Faults) Total() int {
	n := 0
	for _, v := range f.Counts() {
		n += v
	}
	return n
}

// String lists the counts by kind.
func (f *Faults) String() string {
	var parts []string
	for k, v := range f.Counts() {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// Process is one handler invocation's life: it may crash at a point.
type Process struct{ dead atomic.Bool }

type processKey struct{}

// WithProcess returns ctx carrying a new process.
func WithProcess(ctx context.Context) (context.Context, *Process) {
	p := &Process{}
	return context.WithValue(ctx, processKey{}, p), p
}

// Crashed reports whether the process crashed.
func (p *Process) Crashed() bool { return p.dead.Load() }

func processOf(ctx context.Context) *Process {
	p, _ := ctx.Value(processKey{}).(*Process)
	return p
}

// Crash kills ctx's process at point k if the dice say so (or it is
// already dead), returning ErrCrashed; nil otherwise. Without a process in
// ctx (a client call, not a handler) nothing crashes.
func (f *Faults) Crash(ctx context.Context, k Kind) error { return f.CrashProcess(processOf(ctx), k) }

// CrashProcess is Crash for the process p (nil: nothing crashes).
func (f *Faults) CrashProcess(p *Process, k Kind) error {
	if p == nil {
		return nil
	}
	if p.dead.Load() {
		return ErrCrashed
	}
	if f.hit(k) {
		p.dead.Store(true)
		return fmt.Errorf("%w: %s", ErrCrashed, k)
	}
	return nil
}

// alive fails when ctx's process is dead.
func alive(ctx context.Context) error {
	if p := processOf(ctx); p != nil && p.dead.Load() {
		return ErrCrashed
	}
	return nil
}

// APIOption is the fault middleware for an SDK client's APIOptions.
func (f *Faults) APIOption(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("lambdatest-crash",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			var metadata middleware.Metadata
			if err := alive(ctx); err != nil {
				return middleware.InitializeOutput{}, metadata, err
			}
			op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			if op == "Lambda.Invoke" {
				if err := f.Crash(ctx, CrashBeforeInvoke); err != nil {
					return middleware.InitializeOutput{}, metadata, err
				}
			}
			out, metadata, err := next.HandleInitialize(ctx, in)
			if err != nil {
				return out, metadata, err
			}
			switch op {
			case "Lambda.Invoke":
				err = f.Crash(ctx, CrashAfterInvoke)
			case "SQS.SendMessageBatch": // the effects dispatcher
				err = f.Crash(ctx, CrashAfterEffectSend)
			}
			return out, metadata, err
		}), middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("lambdatest-sdk-faults",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			service := awsmiddleware.GetServiceID(ctx)
			if err := f.before(service); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			out, md, err := next.HandleFinalize(ctx, in)
			if err == nil && service == "DynamoDB" && f.hit(DynamoTimeout) {
				return out, md, timeoutError()
			}
			return out, md, err
		}), middleware.After)
}

// before returns the fault to inject before a call of service goes out.
func (f *Faults) before(service string) error {
	switch service {
	case "DynamoDB":
		switch {
		case f.hit(DynamoThrottle):
			return &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "injected throttling"}
		case f.hit(Dynamo5xx):
			return statusError(http.StatusInternalServerError)
		}
	case "Lambda":
		switch {
		case f.hit(LambdaThrottle):
			return &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "injected: Rate Exceeded."}
		case f.hit(LambdaTimeout):
			return timeoutError()
		}
	case "SQS":
		if f.hit(SQSSendFailure) {
			return statusError(http.StatusServiceUnavailable)
		}
	}
	return nil
}

func statusError(code int) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}},
		Err: fmt.Errorf("injected HTTP %d", code)}
}

type timeout struct{}

func (timeout) Error() string   { return "injected: i/o timeout" }
func (timeout) Timeout() bool   { return true }
func (timeout) Temporary() bool { return true }

func timeoutError() error { return &smithyhttp.RequestSendError{Err: timeout{}} }

// Store wraps a journal.Store: a crashed process's calls fail, an append
// may crash its process right after it landed, or fail (before or after
// it landed) when the rates say so.
type Store struct {
	journal.Store
	Faults *Faults
	// Process, when set, is the process every call belongs to (a whole
	// runtime, as in the embedded one); otherwise it is ctx's.
	Process *Process
}

func (s Store) process(ctx context.Context) *Process {
	if s.Process != nil {
		return s.Process
	}
	return processOf(ctx)
}

func (s Store) alive(ctx context.Context) error {
	if p := s.process(ctx); p != nil && p.dead.Load() {
		return ErrCrashed
	}
	return nil
}

// Append implements journal.Store.
func (s Store) Append(ctx context.Context, c journal.Commit) (int64, error) {
	if err := s.alive(ctx); err != nil {
		return 0, err
	}
	if s.Faults.hit(StoreFailure) {
		return 0, errors.New("lambdatest: injected journal write failure")
	}
	seq, err := s.Store.Append(ctx, c)
	if err != nil {
		return seq, err
	}
	if err := s.Faults.CrashProcess(s.process(ctx), CrashAfterAppend); err != nil {
		return 0, err
	}
	if s.Faults.hit(StoreLostAnswer) {
		return 0, errors.New("lambdatest: injected: the write landed but its answer was lost")
	}
	return seq, nil
}

// Load implements journal.Store.
func (s Store) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	if err := s.alive(ctx); err != nil {
		return journal.Run{}, nil, err
	}
	return s.Store.Load(ctx, run)
}

// Since implements journal.Store.
func (s Store) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	return s.Store.Since(ctx, run, after)
}

// NewProcess returns a live process (for Store.Process).
func NewProcess() *Process { return &Process{} }

// Hit reports whether a fault of kind k is injected now (and counts it),
// for injection points outside this package.
func (f *Faults) Hit(k Kind) bool { return f.hit(k) }

// errNoStreams is what the wrapper answers when the store it wraps has no
// internal streams.
var errNoStreams = errors.New("lambdatest: the wrapped journal has no internal streams (journal.Streams)")

// errNoReviews is what the wrapper answers when the store it wraps has no
// review items.
var errNoReviews = errors.New("lambdatest: the wrapped journal has no review items (journal.Reviews)")

// AppendStream implements journal.Streams (when the wrapped store does),
// with the same faults as Append.
func (s Store) AppendStream(ctx context.Context, stream string, after int64, events []journal.Event) (int64, error) {
	st, ok := s.Store.(journal.Streams)
	if !ok {
		return 0, errNoStreams
	}
	if err := s.alive(ctx); err != nil {
		return 0, err
	}
	if s.Faults.hit(StoreFailure) {
		return 0, errors.New("lambdatest: injected stream write failure")
	}
	seq, err := st.AppendStream(ctx, stream, after, events)
	if err != nil {
		return seq, err
	}
	if err := s.Faults.CrashProcess(s.process(ctx), CrashAfterAppend); err != nil {
		return 0, err
	}
	return seq, nil
}

// ReadStream implements journal.Streams (when the wrapped store does).
func (s Store) ReadStream(ctx context.Context, stream string) ([]journal.Event, error) {
	st, ok := s.Store.(journal.Streams)
	if !ok {
		return nil, errNoStreams
	}
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	return st.ReadStream(ctx, stream)
}

// PutReview implements journal.Reviews (when the wrapped store does).
func (s Store) PutReview(ctx context.Context, it journal.ReviewItem) (bool, error) {
	r, ok := s.Store.(journal.Reviews)
	if !ok {
		return false, errNoReviews
	}
	if err := s.alive(ctx); err != nil {
		return false, err
	}
	return r.PutReview(ctx, it)
}

// Review implements journal.Reviews (when the wrapped store does).
func (s Store) Review(ctx context.Context, id string) (journal.ReviewItem, error) {
	r, ok := s.Store.(journal.Reviews)
	if !ok {
		return journal.ReviewItem{}, errNoReviews
	}
	return r.Review(ctx, id)
}

// Reviews implements journal.Reviews (when the wrapped store does).
func (s Store) Reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	r, ok := s.Store.(journal.Reviews)
	if !ok {
		return nil, "", errNoReviews
	}
	return r.Reviews(ctx, q)
}

// ResolveReview implements journal.Reviews (when the wrapped store does).
func (s Store) ResolveReview(ctx context.Context, id string, res journal.Resolution) (journal.ReviewItem, error) {
	r, ok := s.Store.(journal.Reviews)
	if !ok {
		return journal.ReviewItem{}, errNoReviews
	}
	if err := s.alive(ctx); err != nil {
		return journal.ReviewItem{}, err
	}
	return r.ResolveReview(ctx, id, res)
}

// errNoSnapshots is what the wrapper answers when the store it wraps keeps
// no snapshots: journal.ErrNotFound, so that the engine falls back to a
// full load as with a run that has none.
var errNoSnapshots = fmt.Errorf("lambdatest: the wrapped journal keeps no snapshots (journal.Snapshots): %w", journal.ErrNotFound)

// PutSnapshot implements journal.Snapshots (when the wrapped store does;
// otherwise the snapshot is dropped, as a cache may): a crashed process's
// write fails.
func (s Store) PutSnapshot(ctx context.Context, run string, seq int64, data []byte) error {
	sn, ok := s.Store.(journal.Snapshots)
	if !ok {
		return nil
	}
	if err := s.alive(ctx); err != nil {
		return err
	}
	return sn.PutSnapshot(ctx, run, seq, data)
}

// LatestSnapshot implements journal.Snapshots (when the wrapped store
// does; otherwise every run has none).
func (s Store) LatestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	sn, ok := s.Store.(journal.Snapshots)
	if !ok {
		return 0, nil, errNoSnapshots
	}
	if err := s.alive(ctx); err != nil {
		return 0, nil, err
	}
	return sn.LatestSnapshot(ctx, run)
}

// PutSnapshotPart implements journal.Snapshots (when the wrapped store
// does; otherwise parts are dropped, as snapshots are).
func (s Store) PutSnapshotPart(ctx context.Context, run, key string, data []byte) error {
	sn, ok := s.Store.(journal.Snapshots)
	if !ok {
		return nil
	}
	if err := s.alive(ctx); err != nil {
		return err
	}
	return sn.PutSnapshotPart(ctx, run, key, data)
}

// SnapshotPart implements journal.Snapshots (when the wrapped store does;
// otherwise no part is stored).
func (s Store) SnapshotPart(ctx context.Context, run, key string) ([]byte, error) {
	sn, ok := s.Store.(journal.Snapshots)
	if !ok {
		return nil, errNoSnapshots
	}
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	return sn.SnapshotPart(ctx, run, key)
}

var (
	_ journal.Streams   = Store{}
	_ journal.Reviews   = Store{}
	_ journal.Snapshots = Store{}
)
