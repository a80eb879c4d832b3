package sqlitejournal_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// transition is a commit's worth of events like a real step transition: a
// step's result with output and a state patch, and the next step scheduled.
// It encodes to about 500 bytes.
func transition(step int) []journal.Event {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(step) * time.Millisecond)
	return []journal.Event{
		{
			Kind: journal.StepSucceeded, At: now, Step: fmt.Sprintf("step-%d", step), Attempt: 1,
			Output: json.RawMessage(`{"orderId":"ord_8f14e45fceea167a","status":"charged","amount":4200,` +
				`"currency":"EUR","charge":{"id":"ch_3PqLm2Kx9","last4":"4242","network":"visa"}}`),
			State: json.RawMessage(`{"charged":true,"chargeId":"ch_3PqLm2Kx9","attempts":1}`),
			Effects: []journal.Effect{{ID: fmt.Sprintf("eff-%d", step), Kind: "email",
				Target: "customer", Payload: json.RawMessage(`{"template":"receipt","orderId":"ord_8f14e45fceea167a"}`)}},
		},
		{Kind: journal.StepScheduled, At: now, Step: fmt.Sprintf("step-%d", step+1), Attempt: 1},
	}
}

func startCommit(run string) journal.Commit {
	return journal.Commit{Run: run, Workflow: "order", DefHash: "sha256:bench",
		Status: journal.StatusRunning, Events: transition(0)}
}

func setBytes(b *testing.B) {
	enc, err := journal.EncodeEvents(transition(1))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
}

// BenchmarkAppend appends to one run, one commit at a time: each append
// waits for its own fsync.
func BenchmarkAppend(b *testing.B) {
	s := newStore(b)
	ctx := b.Context()
	if _, err := s.Append(ctx, startCommit("bench")); err != nil {
		b.Fatal(err)
	}
	setBytes(b)
	after := int64(1)
	for b.Loop() {
		seq, err := s.Append(ctx, journal.Commit{Run: "bench", After: after, Events: transition(int(after))})
		if err != nil {
			b.Fatal(err)
		}
		after = seq
	}
}

// BenchmarkAppendParallel appends to many runs at once, one goroutine per
// run: group commit shares each fsync among the appends queued meanwhile.
func BenchmarkAppendParallel(b *testing.B) {
	s := newStore(b)
	ctx := b.Context()
	setBytes(b)
	var runs atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		run := fmt.Sprintf("bench-%d", runs.Add(1))
		if _, err := s.Append(ctx, startCommit(run)); err != nil {
			b.Error(err)
			return
		}
		after := int64(1)
		for pb.Next() {
			seq, err := s.Append(ctx, journal.Commit{Run: run, After: after, Events: transition(int(after))})
			if err != nil {
				b.Error(err)
				return
			}
			after = seq
		}
	})
}

// BenchmarkLoad loads a run of 20 commits.
func BenchmarkLoad(b *testing.B) {
	s := newStore(b)
	ctx := b.Context()
	if _, err := s.Append(ctx, startCommit("bench")); err != nil {
		b.Fatal(err)
	}
	for after := int64(1); after < 20; after++ {
		if _, err := s.Append(ctx, journal.Commit{Run: "bench", After: after, Events: transition(int(after))}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, _, err := s.Load(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
