package colddrive

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// mapRun maps over input.items (each item's output is a small object),
// then waits for the event "go": a run parked at its gate, whose journal
// is about two events per item.
var mapRun = workflow.New("cold",
	workflow.Key("input.id"),
	workflow.Map("each", "item", "input.items", workflow.MaxConcurrency(1000)),
	workflow.Await("gate", "go", workflow.After("each")),
).MustBuild()

type invoker struct{}

func (invoker) Invoke(_ context.Context, req step.Request) (step.Response, error) {
	return step.Response{Result: step.Result{Output: json.RawMessage(`{"sku":"SKU-` + strconv.Itoa(len(req.Input)) + `","ok":true}`)}}, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// store is what the benchmark needs of a backend.
type store interface {
	journal.Store
	journal.Snapshots
}

// counting counts the bytes a cold drive reads: encoded events from Load
// and Since, snapshot data and the snapshot parts it reads.
type counting struct {
	store
	bytes atomic.Int64
}

func (c *counting) count(events []journal.Event) {
	b, _ := journal.EncodeEvents(events)
	c.bytes.Add(int64(len(b)))
}

func (c *counting) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	h, events, err := c.store.Load(ctx, run)
	c.count(events)
	return h, events, err
}

func (c *counting) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	events, err := c.store.Since(ctx, run, after)
	c.count(events)
	return events, err
}

func (c *counting) LatestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	seq, data, err := c.store.LatestSnapshot(ctx, run)
	c.bytes.Add(int64(len(data)))
	return seq, data, err
}

func (c *counting) SnapshotPart(ctx context.Context, run, key string) ([]byte, error) {
	data, err := c.store.SnapshotPart(ctx, run, key)
	c.bytes.Add(int64(len(data)))
	return data, err
}

// buildRun drives a run of mapRun with items items to its gate on an
// in-memory journal and copies its events into s in commits of up to 500
// events (a fold does not depend on commit boundaries). It returns the run
// and its number of events.
func buildRun(b testing.TB, s journal.Store, items int) (string, int) {
	b.Helper()
	ctx := context.Background()
	mem := memjournal.New()
	e := orchestrator.New(mem, invoker{}, orchestrator.WithLogger(quiet))
	if err := e.Register(ctx, mapRun); err != nil {
		b.Fatal(err)
	}
	list := make([]string, items)
	for i := range list {
		list[i] = strconv.Itoa(i)
	}
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "cold", Input: json.RawMessage(`{"id":"r","items":[` + strings.Join(list, ",") + `]}`)})
	if err != nil {
		b.Fatal(err)
	}
	for {
		out, err := e.Drive(ctx, st.Run)
		if err != nil {
			b.Fatal(err)
		}
		if !out.Continue && out.WakeAt.IsZero() {
			break
		}
	}
	_, events, err := mem.Load(ctx, st.Run)
	if err != nil {
		b.Fatal(err)
	}
	if err := orchestrator.New(s, nil, orchestrator.WithLogger(quiet)).Register(ctx, mapRun); err != nil {
		b.Fatal(err)
	}
	var after int64
	for len(events) > 0 {
		n := min(len(events), 500)
		c := journal.Commit{Run: st.Run, After: after, Events: events[:n], At: events[n-1].At}
		if after == 0 {
			c.Workflow, c.DefHash, c.Status = mapRun.Name, mapRun.Hash(), journal.StatusRunning
		}
		if after, err = s.Append(ctx, c); err != nil {
			b.Fatal(err)
		}
		events = events[n:]
	}
	_, events, _ = s.Load(ctx, st.Run)
	return st.Run, len(events)
}

// coldDrive drives run on a new engine (no cached state), with snapshots
// on or off.
func coldDrive(b testing.TB, s store, run string, snapshots bool) {
	every := 0
	if snapshots {
		every = orchestrator.DefaultSnapshotEvery
	}
	e := orchestrator.New(s, invoker{}, orchestrator.WithLogger(quiet), orchestrator.WithSnapshotEvery(every))
	if err := e.Register(context.Background(), mapRun); err != nil {
		b.Fatal(err)
	}
	out, err := e.Drive(context.Background(), run)
	if err != nil || out.Continue {
		b.Fatalf("cold drive: %+v, %v", out, err)
	}
}

func BenchmarkColdDrive(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store
	}{
		{"sqlite", func(b *testing.B) store {
			s, err := sqlitejournal.New(context.Background(), filepath.Join(b.TempDir(), "j.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"dynamodb", func(b *testing.B) store {
			c := dynamotest.Client(b)
			s3c, bucket := dynamotest.S3(b)
			return dynamojournal.New(c, dynamotest.Table(b, c), dynamojournal.WithS3(s3c, bucket))
		}},
	}
	for _, be := range backends {
		for _, events := range []int{100, 10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/events=%d", be.name, events), func(b *testing.B) {
				s := be.open(b)
				run, n := buildRun(b, s, (events-4)/2)
				// Each mode measures the bytes of one cold drive, then
				// times cold drives.
				b.Run("fold", func(b *testing.B) {
					c := &counting{store: s}
					coldDrive(b, c, run, false)
					read := c.bytes.Load()
					for b.Loop() {
						coldDrive(b, s, run, false)
					}
					b.ReportMetric(float64(read), "bytes-read")
					b.ReportMetric(float64(n), "events")
				})
				b.Run("snapshot", func(b *testing.B) {
					e := orchestrator.New(s, invoker{}, orchestrator.WithLogger(quiet))
					if err := e.Register(context.Background(), mapRun); err != nil {
						b.Fatal(err)
					}
					if err := e.WriteSnapshot(context.Background(), run); err != nil {
						b.Fatal(err)
					}
					c := &counting{store: s}
					coldDrive(b, c, run, true)
					read := c.bytes.Load()
					for b.Loop() {
						coldDrive(b, s, run, true)
					}
					b.ReportMetric(float64(read), "bytes-read")
					b.ReportMetric(float64(n), "events")
				})
			})
		}
	}
}

// TestColdDriveBytes checks what the benchmark measures, on bytes (exact)
// rather than time: a cold drive of a run parked after a 10,000-item map
// reads its snapshot's small core, not the run (without a snapshot it
// reads the whole journal, about 3 MB).
func TestColdDriveBytes(t *testing.T) {
	t.Parallel()
	s, err := sqlitejournal.New(context.Background(), filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	run, events := buildRun(t, s, 10_000)
	fold := &counting{store: s}
	coldDrive(t, fold, run, false)
	e := orchestrator.New(s, invoker{}, orchestrator.WithLogger(quiet))
	if err := e.Register(context.Background(), mapRun); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteSnapshot(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	snap := &counting{store: s}
	coldDrive(t, snap, run, true)
	journalBytes, read := fold.bytes.Load(), snap.bytes.Load()
	t.Logf("%d events: a cold drive reads %d bytes from the snapshot, %d from the journal", events, read, journalBytes)
	if journalBytes < 1_000_000 {
		t.Fatalf("the journal of a 10,000-item map is %d bytes: the run is not what this test means", journalBytes)
	}
	if read*100 > journalBytes {
		t.Fatalf("a cold drive from the snapshot read %d bytes, over 1/100 of the journal's %d", read, journalBytes)
	}
}
