package journaltest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ordoflow/ordo/journal"
)

// WithSnapshots is what a backend with snapshots implements: the run
// journal and journal.Snapshots, in one store.
type WithSnapshots interface {
	journal.Store
	journal.Snapshots
}

// RunSnapshots runs the conformance suite of journal.Snapshots against
// stores built by newStore (fresh and empty per subtest, as for Run). It
// also checks that snapshots stay out of the run journal: Load, Since and
// Runs never see them.
func RunSnapshots(t *testing.T, newStore func(t *testing.T) WithSnapshots) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s WithSnapshots)
	}{
		{"SnapshotUnknown", testSnapshotUnknown},
		{"SnapshotRoundTrip", testSnapshotRoundTrip},
		{"SnapshotNeverMovesBack", testSnapshotNeverMovesBack},
		{"SnapshotLarge", testSnapshotLarge},
		{"SnapshotInvalid", testSnapshotInvalid},
		{"SnapshotsAreNotCommits", testSnapshotsAreNotCommits},
		{"PartRoundTrip", testPartRoundTrip},
		{"PartLarge", testPartLarge},
		{"PartInvalid", testPartInvalid},
		{"PartsAreNotCommits", testPartsAreNotCommits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func testSnapshotUnknown(t *testing.T, s WithSnapshots) {
	_, _, err := s.LatestSnapshot(t.Context(), "run-none")
	if !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("LatestSnapshot of a run without one: %v, want ErrNotFound", err)
	}
}

func mustSnapshot(t *testing.T, s WithSnapshots, run string, wantSeq int64, want []byte) {
	t.Helper()
	seq, data, err := s.LatestSnapshot(t.Context(), run)
	if err != nil {
		t.Fatalf("LatestSnapshot %s: %v", run, err)
	}
	if seq != wantSeq || !bytes.Equal(data, want) {
		t.Fatalf("LatestSnapshot %s: seq %d, %d bytes %.40q; want seq %d, %d bytes %.40q", run, seq, len(data), data, wantSeq, len(want), want)
	}
}

func testSnapshotRoundTrip(t *testing.T, s WithSnapshots) {
	start(t, s, "run-a", "wf", journal.StatusRunning, 0)
	data := []byte(`{"format":1,"state":{"n":1}}`)
	if err := s.PutSnapshot(t.Context(), "run-a", 1, data); err != nil {
		t.Fatal(err)
	}
	data[0] = 'x' // the store keeps its own copy
	mustSnapshot(t, s, "run-a", 1, []byte(`{"format":1,"state":{"n":1}}`))
	// Binary data, every byte value.
	bin := make([]byte, 512)
	for i := range bin {
		bin[i] = byte(i)
	}
	if err := s.PutSnapshot(t.Context(), "run-a", 2, bin); err != nil {
		t.Fatal(err)
	}
	mustSnapshot(t, s, "run-a", 2, bin)
	// Snapshots of another run are its own.
	if _, _, err := s.LatestSnapshot(t.Context(), "run-b"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("LatestSnapshot run-b: %v, want ErrNotFound", err)
	}
}

func testSnapshotNeverMovesBack(t *testing.T, s WithSnapshots) {
	ctx := t.Context()
	for _, p := range []struct {
		seq  int64
		data string
	}{{5, "five"}, {3, "three"}, {5, "five again"}, {9, "nine"}, {7, "seven"}} {
		if err := s.PutSnapshot(ctx, "run-m", p.seq, []byte(p.data)); err != nil {
			t.Fatalf("PutSnapshot %d: %v", p.seq, err)
		}
	}
	mustSnapshot(t, s, "run-m", 9, []byte("nine"))
}

func testSnapshotLarge(t *testing.T, s WithSnapshots) {
	// 300 KB that do not compress: within a DynamoDB item.
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := s.PutSnapshot(t.Context(), "run-l", 42, data); err != nil {
		t.Fatal(err)
	}
	mustSnapshot(t, s, "run-l", 42, data)
}

func testSnapshotInvalid(t *testing.T, s WithSnapshots) {
	for _, c := range []struct {
		run  string
		seq  int64
		data []byte
	}{{"", 1, []byte("x")}, {"run-i", 0, []byte("x")}, {"run-i", -1, []byte("x")}, {"run-i", 1, nil}} {
		if err := s.PutSnapshot(t.Context(), c.run, c.seq, c.data); err == nil {
			t.Errorf("PutSnapshot(%q, %d, %q) accepted", c.run, c.seq, c.data)
		}
	}
	if _, _, err := s.LatestSnapshot(t.Context(), "run-i"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("an invalid snapshot was stored: %v", err)
	}
}

func testSnapshotsAreNotCommits(t *testing.T, s WithSnapshots) {
	ctx := t.Context()
	start(t, s, "run-s", "wf", journal.StatusRunning, 0)
	if _, err := s.Append(ctx, journal.Commit{Run: "run-s", After: 1, At: at(1), Events: []journal.Event{step("a", 1, 1)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshot(ctx, "run-s", 2, []byte(`{"format":1}`)); err != nil {
		t.Fatal(err)
	}
	// A snapshot of a run that has no commits creates no run.
	if err := s.PutSnapshot(ctx, "run-ghost", 3, []byte(`{"format":1}`)); err != nil {
		t.Fatal(err)
	}
	head, events, err := s.Load(ctx, "run-s")
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 2 || len(events) != 2 || events[0].Kind != journal.RunStarted || events[1].Kind != journal.StepSucceeded {
		t.Fatalf("Load after a snapshot: seq %d, events %s", head.Seq, kinds(events))
	}
	since, err := s.Since(ctx, "run-s", 1)
	if err != nil || len(since) != 1 || since[0].Seq != 2 {
		t.Fatalf("Since 1 after a snapshot: %s, %v", kinds(since), err)
	}
	if _, _, err := s.Load(ctx, "run-ghost"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("Load of a run with only a snapshot: %v, want ErrNotFound", err)
	}
	runs, _, err := s.Runs(ctx, journal.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != "run-s" {
		t.Fatalf("Runs lists %+v, want only run-s", runs)
	}
}

func kinds(events []journal.Event) string {
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%d:%s", e.Seq, e.Kind))
	}
	return fmt.Sprint(out)
}

func mustPart(t *testing.T, s WithSnapshots, run, key string, want []byte) {
	t.Helper()
	data, err := s.SnapshotPart(t.Context(), run, key)
	if err != nil {
		t.Fatalf("SnapshotPart %s %s: %v", run, key, err)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("SnapshotPart %s %s: %d bytes %.40q; want %d bytes %.40q", run, key, len(data), data, len(want), want)
	}
}

func testPartRoundTrip(t *testing.T, s WithSnapshots) {
	ctx := t.Context()
	if _, err := s.SnapshotPart(ctx, "run-p", "k1"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("SnapshotPart of a run without parts: %v, want ErrNotFound", err)
	}
	data := []byte(`{"items":[1,2,3]}`)
	if err := s.PutSnapshotPart(ctx, "run-p", "k1", data); err != nil {
		t.Fatal(err)
	}
	data[0] = 'x' // the store keeps its own copy
	mustPart(t, s, "run-p", "k1", []byte(`{"items":[1,2,3]}`))
	// Putting a key again is a no-op (a key names one content).
	if err := s.PutSnapshotPart(ctx, "run-p", "k1", []byte(`{"items":[1,2,3]}`)); err != nil {
		t.Fatalf("PutSnapshotPart of a stored key: %v", err)
	}
	mustPart(t, s, "run-p", "k1", []byte(`{"items":[1,2,3]}`))
	// Binary data; parts of another run, or of another key, are their own.
	bin := make([]byte, 512)
	for i := range bin {
		bin[i] = byte(i)
	}
	if err := s.PutSnapshotPart(ctx, "run-p", "k2", bin); err != nil {
		t.Fatal(err)
	}
	mustPart(t, s, "run-p", "k2", bin)
	if _, err := s.SnapshotPart(ctx, "run-q", "k1"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("SnapshotPart of another run's key: %v, want ErrNotFound", err)
	}
}

func testPartLarge(t *testing.T, s WithSnapshots) {
	// 600 KB that do not compress: over a DynamoDB item.
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 600<<10)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := s.PutSnapshotPart(t.Context(), "run-pl", "big", data); err != nil {
		if errors.Is(err, journal.ErrTooLarge) {
			t.Skipf("this store keeps no part over its item limit: %v", err)
		}
		t.Fatal(err)
	}
	mustPart(t, s, "run-pl", "big", data)
}

func testPartInvalid(t *testing.T, s WithSnapshots) {
	for _, c := range []struct {
		run, key string
		data     []byte
	}{{"", "k", []byte("x")}, {"run-pi", "", []byte("x")}, {"run-pi", "a/b", []byte("x")},
		{"run-pi", string(make([]byte, 129)), []byte("x")}, {"run-pi", "k", nil}} {
		if err := s.PutSnapshotPart(t.Context(), c.run, c.key, c.data); err == nil {
			t.Errorf("PutSnapshotPart(%q, %.20q, %q) accepted", c.run, c.key, c.data)
		}
	}
	if _, err := s.SnapshotPart(t.Context(), "run-pi", "k"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("an invalid part was stored: %v", err)
	}
}

func testPartsAreNotCommits(t *testing.T, s WithSnapshots) {
	ctx := t.Context()
	start(t, s, "run-ps", "wf", journal.StatusRunning, 0)
	if err := s.PutSnapshotPart(ctx, "run-ps", "k", []byte("value")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshotPart(ctx, "run-pghost", "k", []byte("value")); err != nil {
		t.Fatal(err)
	}
	head, events, err := s.Load(ctx, "run-ps")
	if err != nil || head.Seq != 1 || len(events) != 1 {
		t.Fatalf("Load after a part: seq %d, events %s, %v", head.Seq, kinds(events), err)
	}
	if since, err := s.Since(ctx, "run-ps", 0); err != nil || len(since) != 1 {
		t.Fatalf("Since 0 after a part: %s, %v", kinds(since), err)
	}
	if _, _, err := s.LatestSnapshot(ctx, "run-ps"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("LatestSnapshot of a run with only a part: %v, want ErrNotFound", err)
	}
	if _, _, err := s.Load(ctx, "run-pghost"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("Load of a run with only a part: %v, want ErrNotFound", err)
	}
	runs, _, err := s.Runs(ctx, journal.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != "run-ps" {
		t.Fatalf("Runs lists %+v, want only run-ps", runs)
	}
}
