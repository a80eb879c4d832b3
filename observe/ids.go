package observe

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// RunIDs is the ID generator a tracer provider needs for a run's root span
// to carry the ids RunTrace derives from the run id (the parent every other
// span of the run names): it gives those ids to the span Tracer starts as
// a run's root, and random ones to every other span, as the SDK's default
// generator does. Install it with sdktrace.WithIDGenerator (observe/otlp's
// WithIDGenerator); without it the root span gets random ids and the run's
// spans keep pointing at a parent that is never exported.
func RunIDs() sdktrace.IDGenerator {
	var seed int64
	_ = binary.Read(crand.Reader, binary.LittleEndian, &seed)
	return &runIDs{rnd: rand.New(rand.NewPCG(uint64(seed), uint64(seed)>>1|1))}
}

type runIDs struct {
	mu  sync.Mutex
	rnd *rand.Rand
}

// rootKey marks a context whose next span is a run's root.
type rootKey struct{}

// asRunRoot returns ctx marked so that RunIDs gives the span started in
// it run's root ids.
func asRunRoot(ctx context.Context, run string) context.Context {
	return context.WithValue(ctx, rootKey{}, run)
}

func (g *runIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if run, ok := ctx.Value(rootKey{}).(string); ok {
		rt := RunTrace(run)
		return rt.TraceID(), rt.SpanID()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var tid trace.TraceID
	var sid trace.SpanID
	for !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], g.rnd.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], g.rnd.Uint64())
	}
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], g.rnd.Uint64())
	}
	return tid, sid
}

func (g *runIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if run, ok := ctx.Value(rootKey{}).(string); ok {
		return RunTrace(run).SpanID()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], g.rnd.Uint64())
	}
	return sid
}
