package bench_test

import (
	"testing"

	"github.com/ordoflow/ordo/bench"
)

// TestEmbeddedShort runs the embedded workload and both SQLite baselines
// with a tiny N, so CI exercises the benchmark code.
func TestEmbeddedShort(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := bench.Shape{N: 20, K: 3, C: 4}
	got, err := bench.Embedded(ctx, t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	// One per step, plus the start, which journals the first decision (the
	// runtime drives what it starts, so the first step is leased to it).
	if want := s.N * (s.K + 1); got.Commits != want {
		t.Errorf("commits = %d, want %d (one per step plus the start with the first decision)", got.Commits, want)
	}
	for i, l := range got.Latency {
		if l <= 0 {
			t.Fatalf("run %d has no latency", i)
		}
	}
	t.Logf("%s: %.0f steps/s, %d B/commit, overhead/step %s", s, got.StepsPerSec(), got.CommitBytes, got.OverheadPerStep())
	raw, err := bench.RawSQLite(ctx, t.TempDir(), 50, 4, got.CommitBytes)
	if err != nil {
		t.Fatal(err)
	}
	j, err := bench.JournalAppend(ctx, t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Ops != 50 || j.Ops != s.N*(s.K+1) {
		t.Errorf("baselines did %d and %d ops", raw.Ops, j.Ops)
	}
	t.Logf("raw %.0f/s, journal %.0f/s", raw.PerSec(), j.PerSec())
}

func TestDecideScaling(t *testing.T) {
	t.Parallel()
	pts, err := bench.DecideScaling(200, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 4 || pts[3].Steps != 200 {
		t.Fatalf("points %+v", pts)
	}
	t.Logf("%+v", pts)
}
