package dynamojournal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// capacity asks DynamoDB for the capacity every write and read consumes
// (ReturnConsumedCapacity INDEXES) and sums what it reports: write units
// on the table and on each index, read units, and calls by operation.
type capacity struct {
	mu    sync.Mutex
	write map[string]float64 // "table", or the index name
	read  float64
	calls map[string]int
}

// usage is what capacity summed since the last take.
type usage struct {
	Write map[string]float64
	Read  float64
	Calls map[string]int
}

// WriteUnits is the total of write units, table and indexes.
func (u usage) WriteUnits() float64 {
	var n float64
	for _, v := range u.Write {
		n += v
	}
	return n
}

func (u usage) String() string {
	var parts []string
	for _, k := range sortedKeys(u.Write) {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, u.Write[k]))
	}
	var calls []string
	for _, k := range sortedKeys(u.Calls) {
		calls = append(calls, fmt.Sprintf("%s×%d", k, u.Calls[k]))
	}
	return fmt.Sprintf("%.1f WRU (%s), %.1f RRU, calls %s",
		u.WriteUnits(), strings.Join(parts, ", "), u.Read, strings.Join(calls, " "))
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (c *capacity) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("sumCapacity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				const ix = types.ReturnConsumedCapacityIndexes
				switch p := in.Parameters.(type) {
				case *dynamodb.PutItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.UpdateItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.DeleteItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.TransactWriteItemsInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.GetItemInput:
					p.ReturnConsumedCapacity = ix
				case *dynamodb.QueryInput:
					p.ReturnConsumedCapacity = ix
				}
				out, md, err := next.HandleInitialize(ctx, in)
				c.mu.Lock()
				defer c.mu.Unlock()
				if c.calls == nil {
					c.calls = map[string]int{}
				}
				c.calls[awsmiddleware.GetOperationName(ctx)]++
				var cc []types.ConsumedCapacity
				write := true
				switch r := out.Result.(type) {
				case *dynamodb.PutItemOutput:
					cc = one(r.ConsumedCapacity)
				case *dynamodb.UpdateItemOutput:
					cc = one(r.ConsumedCapacity)
				case *dynamodb.DeleteItemOutput:
					cc = one(r.ConsumedCapacity)
				case *dynamodb.TransactWriteItemsOutput:
					cc = r.ConsumedCapacity
				case *dynamodb.GetItemOutput:
					cc, write = one(r.ConsumedCapacity), false
				case *dynamodb.QueryOutput:
					cc, write = one(r.ConsumedCapacity), false
				}
				// A failed write reports no capacity to the SDK (it comes
				// back as an error), so conditional failures are not
				// counted here.
				for _, x := range cc {
					if !write {
						c.read += aws.ToFloat64(x.CapacityUnits)
						continue
					}
					if c.write == nil {
						c.write = map[string]float64{}
					}
					if x.Table != nil {
						c.write["table"] += aws.ToFloat64(x.Table.CapacityUnits)
					}
					for name, v := range x.GlobalSecondaryIndexes {
						c.write[name] += aws.ToFloat64(v.CapacityUnits)
					}
					if x.Table == nil && len(x.GlobalSecondaryIndexes) == 0 {
						c.write["total"] += aws.ToFloat64(x.CapacityUnits)
					}
				}
				return out, md, err
			}), middleware.After)
	})
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func (c *capacity) take() usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := usage{Write: c.write, Read: c.read, Calls: c.calls}
	c.write, c.read, c.calls = nil, 0, nil
	return u
}

// transition returns the events of a realistic step transition: the step's
// result (output of about outputBytes) and the next step scheduled.
func transition(at time.Time, outputBytes int) []journal.Event {
	var b strings.Builder
	b.WriteString(`{"orderId":"ord-7f3a9c","items":[`)
	for i := 0; b.Len() < outputBytes-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%05d","qty":%d,"price":%d.%02d}`, i*7919%100000, i%5+1, 10+i%90, i%100)
	}
	b.WriteString(`],"status":"ok"}`)
	return []journal.Event{
		{Kind: journal.StepSucceeded, At: at, Step: "reserve-inventory", Attempt: 1, Output: json.RawMessage(b.String())},
		{Kind: journal.StepScheduled, At: at, Step: "charge-card", Attempt: 1},
	}
}

// TestWriteUnits measures the capacity units of each kind of append on
// DynamoDB Local and logs them (go test -run WriteUnits -v): the first
// commit, a plain step commit (small, ~500 B, ~1 KB and ~2 KB of events),
// a status change, the completion, and a whole K=5 run. It checks the cost
// model's bounds.
func TestWriteUnits(t *testing.T) {
	t.Parallel()
	var cap capacity
	c := newClient(t, cap.option)
	s := dynamojournal.New(c, newTable(t, c))
	// A Store's first head write records its shard count (once per Store,
	// 1 unit): measured apart from the run's.
	mustAppend(t, s, startCommit("run-warm"))
	cap.take()

	type row struct {
		kind string
		u    usage
	}
	var rows []row
	measure := func(kind string, cm journal.Commit) int64 {
		t.Helper()
		seq := mustAppend(t, s, cm)
		rows = append(rows, row{kind, cap.take()})
		return seq
	}
	seq := measure("first commit (start, with head)", startCommit("run-u"))
	for _, size := range []int{0, 500, 1000, 2000} {
		at := t0.Add(time.Duration(seq) * time.Second)
		cm := stepCommit("run-u", seq, `{"ok":true}`)
		if size > 0 {
			cm.Events = transition(at, size)
		}
		ev, _ := journal.EncodeEvents(cm.Events)
		seq = measure(fmt.Sprintf("step commit, %d B of events", len(ev)), cm)
	}
	// Outputs full of random ids compress less.
	for _, size := range []int{1000, 2000} {
		at := t0.Add(time.Duration(seq) * time.Second)
		cm := stepCommit("run-u", seq, `{}`)
		cm.Events = transition(at, 0)
		var b strings.Builder
		b.WriteString(`{"tokens":[`)
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%q,"n":%d}`, incompressible(32), i)
		}
		b.WriteString(`]}`)
		cm.Events[0].Output = json.RawMessage(b.String())
		ev, _ := journal.EncodeEvents(cm.Events)
		seq = measure(fmt.Sprintf("step commit, %d B of random ids", len(ev)), cm)
	}
	mv := stepCommit("run-u", seq, `{"ok":true}`)
	mv.Status = journal.StatusWaiting
	seq = measure("status change (running → waiting)", mv)
	done := journal.Commit{Run: "run-u", After: seq, At: t0.Add(time.Minute), Status: journal.StatusCompleted,
		Events: transition(t0.Add(time.Minute), 500)}
	done.Events[1] = journal.Event{Kind: journal.RunCompleted, At: t0.Add(time.Minute)}
	measure("completion (waiting → completed)", done)

	if _, _, err := s.Load(t.Context(), "run-u"); err != nil {
		t.Fatal(err)
	}
	rows = append(rows, row{"load (Query)", cap.take()})

	for _, r := range rows {
		t.Logf("%-36s %s", r.kind, r.u)
	}
	// A K=5 happy-path run as the engine journals it. Started by a
	// trigger, the orchestrator journals the start with the first decision
	// (StartRequest.Decide): K+1 commits, the start (RunStarted and the
	// first step scheduled), 4 step results each scheduling the next, and
	// the last step's result with the completion. Started through the API,
	// the first decision is a commit of its own: K+2.
	const k = 5
	for _, shape := range []struct {
		name      string
		decided   bool
		most      float64
		commits   int
		accounted string
	}{
		{"trigger", true, 12, k + 1, "6 commits, 2 head writes, 1 byStatus entry at the start, a byStatus move and a byWorkflow entry at the end"},
		{"API", false, 13, k + 2, "7 commits, and the same head and index writes"},
	} {
		run := "run-k-" + shape.name
		start := journal.Commit{Run: run, Workflow: "order", DefHash: "sha256:order", At: t0,
			Events: []journal.Event{{Kind: journal.RunStarted, At: t0, Workflow: "order", DefHash: "sha256:order",
				Input: json.RawMessage(`{"orderId":"ord-7f3a9c","total":129.90}`)}}}
		first := journal.Event{Kind: journal.StepScheduled, At: t0, Step: "verify", Attempt: 1}
		if shape.decided {
			start.Events = append(start.Events, first)
		}
		seq = mustAppend(t, s, start)
		if !shape.decided {
			seq = mustAppend(t, s, journal.Commit{Run: run, After: seq, At: t0, Events: []journal.Event{first}})
		}
		for i := 1; i < k; i++ {
			at := t0.Add(time.Duration(i) * time.Second)
			seq = mustAppend(t, s, journal.Commit{Run: run, After: seq, At: at, Events: transition(at, 500)})
		}
		last := journal.Commit{Run: run, After: seq, At: t0.Add(time.Minute), Status: journal.StatusCompleted,
			Events: transition(t0.Add(time.Minute), 500)}
		last.Events[1] = journal.Event{Kind: journal.RunCompleted, At: t0.Add(time.Minute)}
		if got := mustAppend(t, s, last); got != int64(shape.commits) {
			t.Fatalf("%s-started K=%d run: %d commits, want %d", shape.name, k, got, shape.commits)
		}
		perRun := cap.take()
		t.Logf("%-36s %s: %.2f per step transition", fmt.Sprintf("K=%d run, %s-started (%d commits)", k, shape.name, shape.commits),
			perRun, perRun.WriteUnits()/k)
		if got := perRun.WriteUnits(); got > shape.most {
			t.Errorf("%s-started K=%d run: %.1f write units (%.2f per step transition), want at most %.0f (%.1f): %s",
				shape.name, k, got, got/k, shape.most, shape.most/k, shape.accounted)
		}
	}

	for _, r := range rows {
		limit := 1.0 // compression keeps ~2 KB of JSON events in one unit
		switch {
		case strings.Contains(r.kind, "random ids"):
			limit = 2
		case strings.HasPrefix(r.kind, "first"):
			limit = 3 // commit + head + its byStatus entry (running runs are not in byWorkflow)
		case strings.HasPrefix(r.kind, "status"):
			limit = 4 // commit + head + its byStatus entry moved (delete + put)
		case strings.HasPrefix(r.kind, "completion"):
			limit = 5 // as a status change, and the settled run's byWorkflow entry
		case strings.HasPrefix(r.kind, "load"):
			limit = 0
		}
		if got := r.u.WriteUnits(); got > limit {
			t.Errorf("%s: %.1f write units, want at most %.0f", r.kind, got, limit)
		}
		if r.u.Calls["TransactWriteItems"] > 0 {
			t.Errorf("%s: a transaction", r.kind)
		}
	}
}
