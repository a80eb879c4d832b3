package dynamojournal

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// The capacity model: a synthetic peak-day workload driven through the real
// key design (StatusPartition, WorkflowPartition, RunPartition) and the
// real item encoding (commitItem, itemSize), counting the write and read
// units that land on every partition key of the table and of each index in
// one second of steady state. docs/SCALING.md explains the figures; run it
// with go test -run TestCapacityModel -v ./journal/dynamojournal/.

// DynamoDB's per-partition limits.
const (
	partitionWCU = 1000
	partitionRCU = 3000
)

// workload is the peak the model drives.
type workload struct {
	transitions float64 // step transitions per second, all workflows
	workflows   int     // number of workflows; the first takes hotShare
	hotShare    float64 // share of transitions of the busiest workflow
	review      float64 // share of runs that end in review
	shards      int     // WithIndexShards
	// orchestratorSeconds is the orchestrator's own time per transition
	// (a PutItem and an Invoke on real AWS, the step's run time apart).
	orchestratorSeconds float64
	// batch is how many queue records one orchestrator invocation drives
	// at once (the event source mapping's BatchSize, template.yaml).
	batch int
	// listings are index listings per second (review queue and console),
	// each reading one page of 50 heads from every shard.
	listings float64
	// coldShare is the share of runs whose drive finds no cached state
	// and loads the whole journal once (a new container).
	coldShare float64
}

// peakDay is the workload of docs/SCALING.md.
func peakDay(shards int) workload {
	return workload{transitions: 100_000, workflows: 50, hotShare: 0.5, review: 0.10, shards: shards,
		orchestratorSeconds: 0.015, batch: 10, listings: 20, coldShare: 0.05}
}

// share is workflow i's share of transitions: the first takes hotShare,
// the others share the rest in Zipf proportions (1/rank).
func (w workload) share(i int) float64 {
	if i == 0 {
		return w.hotShare
	}
	var h float64
	for r := 1; r < w.workflows; r++ {
		h += 1 / float64(r)
	}
	return (1 - w.hotShare) / float64(i) / h
}

// steps is workflow i's run length: the busiest runs 5 steps (the most
// runs per transition, the worst case for the indexes); the others
// alternate runs of 200 and 5 steps.
func steps(i int) int {
	if i%2 == 1 {
		return 200
	}
	return 5
}

// load sums units per partition key, by table or index name.
type load map[string]map[string]float64

func (l load) add(where, key string, units float64) {
	if l[where] == nil {
		l[where] = map[string]float64{}
	}
	l[where][key] += units
}

// hottest is where's busiest partition key and its units.
func (l load) hottest(where string) (string, float64) {
	var key string
	var top float64
	for k, v := range l[where] {
		if v > top || (v == top && k < key) {
			key, top = k, v
		}
	}
	return key, top
}

func (l load) total(where string) float64 {
	var n float64
	for _, v := range l[where] {
		n += v
	}
	return n
}

// items are the representative items of one run, encoded by the Store.
type items struct {
	start, step, done, review int // write units of each commit kind
	head                      int // write units of the head item
	entry                     int // write units of an index entry
	commitBytes               int // bytes of a step commit item, for reads
	headBytes                 int
}

// measureItems encodes a representative run of workflow with the Store's
// own commitItem and sizes its head and index entries with itemSize.
func measureItems(t *testing.T, s *Store, workflow, run string) items {
	t.Helper()
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	order := json.RawMessage(`{"orderId":"ord-7f3a9c21","customer":"cus-19a7f0","items":[{"sku":"SKU-00042","qty":2,"price":19.99},{"sku":"SKU-07919","qty":1,"price":129.00}],"total":168.98,"currency":"EUR"}`)
	out := json.RawMessage(`{"reservation":"rsv-5c1e0b9d","warehouse":"FRA-2","items":[{"sku":"SKU-00042","qty":2},{"sku":"SKU-07919","qty":1}],"status":"ok"}`)
	size := func(c journal.Commit, status journal.Status) int {
		item, _, err := s.commitItem(c, status, at, "5f0c2a9e1b7d4c3a8e6f0a1b")
		if err != nil {
			t.Fatal(err)
		}
		return itemSize(item)
	}
	var it items
	it.start = units(size(journal.Commit{Run: run, Workflow: workflow, DefHash: strings.Repeat("ab", 32), Events: []journal.Event{
		{Kind: journal.RunStarted, At: at, Workflow: workflow, DefHash: strings.Repeat("ab", 32), Key: "ord-7f3a9c21", Trigger: "trg-01JDX7", Input: order},
		{Kind: journal.StepScheduled, At: at, Step: "reserve-inventory", Attempt: 1, Due: at.Add(30 * time.Second)},
	}}, journal.StatusRunning))
	stepCommit := journal.Commit{Run: run, After: 2, Events: []journal.Event{
		{Kind: journal.StepSucceeded, At: at, Step: "reserve-inventory", Attempt: 1, Output: out},
		{Kind: journal.StepScheduled, At: at, Step: "charge-payment", Attempt: 1, Due: at.Add(30 * time.Second)},
	}}
	it.commitBytes = size(stepCommit, "")
	it.step = units(it.commitBytes)
	it.done = units(size(journal.Commit{Run: run, After: 6, Events: []journal.Event{
		{Kind: journal.StepSucceeded, At: at, Step: "ship", Attempt: 1, Output: out},
		{Kind: journal.RunCompleted, At: at, Output: out},
	}}, journal.StatusCompleted))
	it.review = units(size(journal.Commit{Run: run, After: 6, Events: []journal.Event{
		{Kind: journal.StepFailed, At: at, Step: "charge-payment", Attempt: 3, Error: &journal.Error{Message: "card declined: insufficient funds", Kind: "declined", Terminal: true}},
		{Kind: journal.NeedsReview, At: at, Reason: "step charge-payment failed: card declined: insufficient funds"},
	}}, journal.StatusReview))

	ts := fmtTime(at)
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	head := map[string]types.AttributeValue{
		attrPK: str(RunPartition(run)), attrSK: str(skHead), attrID: str(run), attrWorkflow: str(workflow),
		attrDefHash: str(strings.Repeat("ab", 32)), attrStatus: str(string(journal.StatusCompleted)),
		attrSeq: &types.AttributeValueMemberN{Value: "7"}, attrCreated: str(ts), attrUpdated: str(ts),
		attrGSI1PK: str(WorkflowPartition(workflow, run, s.opts.shards)), attrGSI1SK: str(sortKey(at, run)),
		attrGSI2PK: str(StatusPartition(journal.StatusCompleted, run, s.opts.shards)), attrGSI2SK: str(sortKey(at, run)),
	}
	it.headBytes = itemSize(head)
	it.head = units(it.headBytes)
	// An index entry holds the table's keys, its own keys and the
	// projected attributes (runAttrs); the other index's keys are not in it.
	entry := map[string]types.AttributeValue{}
	for _, a := range append([]string{attrPK, attrSK, attrGSI2PK, attrGSI2SK}, runAttrs...) {
		entry[a] = head[a]
	}
	it.entry = units(itemSize(entry))
	return it
}

// simulate drives one second of w's steady state: in every workflow the
// runs that start, step and end in a second (rate/K of each), with run
// ids as the engine builds them (workflow "/" key), and returns the units
// landing on each partition key and the runs per second.
func simulate(t *testing.T, w workload) (writes, reads load, runs float64, sizes items) {
	t.Helper()
	s := New(nil, "journal", WithIndexShards(w.shards))
	writes, reads = load{}, load{}
	const (
		table = "table"
		byWF  = IndexByWorkflow
		byST  = IndexByStatus
	)
	for i := range w.workflows {
		workflow := "wf-" + strconv.Itoa(i)
		k := steps(i)
		n := int(math.Round(w.transitions * w.share(i) / float64(k)))
		runs += float64(n)
		// Item sizes differ between runs only by their id's length: size
		// them once, with the longest id of the workflow.
		it := measureItems(t, s, workflow, workflow+"/ord-"+strconv.Itoa(max(n-1, 0)))
		if i == 0 {
			sizes = it
		}
		for j := range n {
			run := workflow + "/ord-" + strconv.Itoa(j)
			toReview := j%int(1/w.review) == 0
			end, endStatus := it.done, journal.StatusCompleted
			if toReview {
				end, endStatus = it.review, journal.StatusReview
			}
			// The run's own partition: K+1 commits (the start with the
			// first decision, as the orchestrator journals a trigger's run;
			// K-1 results each scheduling the next; the last result with
			// the end) and two head writes, counted as if the whole run fell
			// in this second (an upper bound per key; the totals are
			// exact). A run started through the API writes its first
			// decision apart: one step commit more.
			writes.add(table, RunPartition(run), float64(it.start+(k-1)*it.step+end+2*it.head))
			// Start: the head's entry is put into byStatus (an unsettled
			// run is not in byWorkflow).
			writes.add(byST, StatusPartition(journal.StatusRunning, run, w.shards), float64(it.entry))
			// End: byStatus's entry moves to another status; a settled run
			// enters byWorkflow.
			writes.add(byST, StatusPartition(journal.StatusRunning, run, w.shards), float64(it.entry))
			writes.add(byST, StatusPartition(endStatus, run, w.shards), float64(it.entry))
			if endStatus.Terminal() {
				writes.add(byWF, WorkflowPartition(workflow, run, w.shards), float64(it.entry))
			}
			// Reads: the first drive after Start catches up with one
			// strongly consistent Query (1 RCU up to 4 KB); a cold drive
			// asks for the run's snapshot (a consistent GetItem, 1 RCU;
			// runs this short have none) and loads the whole run (K+1
			// commits and the head).
			reads.add(table, RunPartition(run), 1)
			if float64(j%100) < w.coldShare*100 {
				reads.add(table, RunPartition(run), 1+math.Ceil(float64((k+1)*it.commitBytes+it.headBytes)/4096))
			}
		}
	}
	// Listings read a page of 50 heads from every shard and the unsharded
	// key (eventually consistent: 0.5 RCU per 4 KB), half of them the
	// review queue and half the busiest workflow.
	page := math.Ceil(float64(50*sizes.headBytes)/4096) / 2
	for _, key := range statusPartitions(journal.StatusReview, w.shards) {
		reads.add(byST, key, w.listings/2*page)
	}
	// A workflow's listing reads its settled runs from byWorkflow and its
	// unsettled ones from byStatus, filtered (charged as a page each).
	for _, key := range workflowPartitions("wf-0", w.shards) {
		reads.add(byWF, key, w.listings/2*page)
	}
	for _, st := range unsettled {
		for _, key := range statusPartitions(st, w.shards) {
			reads.add(byST, key, w.listings/2*page)
		}
	}
	return writes, reads, runs, sizes
}

// TestCapacityModel drives 100,000 step transitions per second through the
// key design and checks that no partition key of the table or of an index
// takes more than DynamoDB's 1,000 WCU/s or 3,000 RCU/s at the shard count
// docs/SCALING.md recommends for that peak, and that the default shard
// count would not (so the model can tell). It logs the partition table and
// the quotas to raise (-v).
func TestCapacityModel(t *testing.T) {
	const recommended = 64
	w := peakDay(recommended)
	writes, reads, runs, it := simulate(t, w)
	t.Logf("workload: %.0f step transitions/s, %d workflows (wf-0 takes %.0f%%, runs of 5 steps; others Zipf, runs of 200 and 5), %.0f runs/s, %.0f%% to review, %d index shards",
		w.transitions, w.workflows, 100*w.hotShare, runs, 100*w.review, w.shards)
	t.Logf("items (real encoding): start commit %d WCU, step commit %d WCU (%d B), completion %d WCU, review %d WCU, head %d WCU (%d B), index entry %d WCU",
		it.start, it.step, it.commitBytes, it.done, it.review, it.head, it.headBytes, it.entry)
	t.Logf("%-11s %12s %12s %-28s %10s %-28s %10s", "where", "WCU/s total", "RCU/s total", "hottest write key", "WCU/s", "hottest read key", "RCU/s")
	for _, where := range []string{"table", IndexByWorkflow, IndexByStatus} {
		wk, wv := writes.hottest(where)
		rk, rv := reads.hottest(where)
		t.Logf("%-11s %12.0f %12.0f %-28s %10.0f %-28s %10.1f", where, writes.total(where), reads.total(where), wk, wv, rk, rv)
		if wv > partitionWCU {
			t.Errorf("%s: partition %s takes %.0f WCU/s, over %d", where, wk, wv, partitionWCU)
		}
		if rv > partitionRCU {
			t.Errorf("%s: partition %s takes %.0f RCU/s, over %d", where, rk, rv, partitionRCU)
		}
	}
	// One run's partition: its commits come one per step duration plus the
	// orchestrator's own time, so at 1 ms steps about 60 WCU/s.
	if perRun := float64(it.step) / (0.001 + w.orchestratorSeconds); perRun > partitionWCU {
		t.Errorf("one run's partition at 1 ms steps: %.0f WCU/s, over %d", perRun, partitionWCU)
	}
	logQuotas(t, w, writes, reads, runs)

	// The same peak at the default shard count overloads the busiest
	// workflow's byWorkflow shards: the check above can fail.
	small, _, _, _ := simulate(t, peakDay(DefaultIndexShards))
	if _, v := small.hottest(IndexByWorkflow); v <= partitionWCU {
		t.Errorf("at %d shards the busiest byWorkflow partition takes %.0f WCU/s; the model expects it over %d", DefaultIndexShards, v, partitionWCU)
	} else {
		t.Logf("at the default %d shards the busiest byWorkflow partition would take %.0f WCU/s (over %d)", DefaultIndexShards, v, partitionWCU)
	}
	need := minShards(t)
	t.Logf("smallest power-of-two shard count keeping every partition under its limits at this peak: %d", need)
	if need > recommended {
		t.Errorf("the peak needs %d shards, more than the %d docs/SCALING.md recommends", need, recommended)
	}
}

// minShards is the smallest power of two of shards at which peakDay keeps
// every partition key under both limits.
func minShards(t *testing.T) int {
	for n := 1; n <= 1024; n *= 2 {
		writes, reads, _, _ := simulate(t, peakDay(n))
		ok := true
		for _, where := range []string{"table", IndexByWorkflow, IndexByStatus} {
			_, wv := writes.hottest(where)
			_, rv := reads.hottest(where)
			ok = ok && wv <= partitionWCU && rv <= partitionRCU
		}
		if ok {
			return n
		}
	}
	t.Fatal("no shard count up to 1024 fits")
	return 0
}

// quota is one service quota the peak needs raised (or not).
type quota struct {
	name           string
	need, standard float64
	note           string
}

// logQuotas accounts Lambda concurrency (synchronous invokes keep the
// orchestrator busy while its steps run: concurrency = rate × duration),
// the SQS traffic and DynamoDB throughput against the default quotas, and
// logs each with its number.
func logQuotas(t *testing.T, w workload, writes, reads load, runs float64) {
	t.Helper()
	var qs []quota
	for _, where := range []string{"table", IndexByWorkflow, IndexByStatus} {
		qs = append(qs, quota{"DynamoDB on-demand write request units/s, " + where, writes.total(where), 40_000,
			"per-table on-demand throughput quota (each index has its own); raise, and pre-warm (warm throughput) before the peak"})
	}
	qs = append(qs, quota{"DynamoDB on-demand read request units/s, table", reads.total("table"), 40_000, ""})
	for _, step := range []float64{0.001, 0.1, 1} {
		stepC := w.transitions * step
		orchC := w.transitions * (step + w.orchestratorSeconds) / float64(w.batch)
		label := fmt.Sprintf("%g ms steps", step*1000)
		qs = append(qs,
			quota{"Lambda concurrent executions (account, region), " + label, stepC + orchC, 1_000,
				fmt.Sprintf("steps %.0f + orchestrator %.0f (rate × (step + %.0f ms) ÷ %d records per invocation)", stepC, orchC, w.orchestratorSeconds*1000, w.batch)},
			quota{"orchestrator concurrency from one SQS event source mapping, " + label, orchC, 1_250,
				"a standard queue's event source mapping scales to 1,250 concurrent invocations at most; more needs more queues or asynchronous steps"})
	}
	qs = append(qs,
		quota{"Lambda synchronous invokes/s (10 × concurrency quota)", w.transitions, 10 * 1_000, "Invoke requests per second per region = 10 × the concurrency quota"},
		quota{"Lambda scaling, new environments per function per 10 s", 1_000, 1_000, "each function adds 1,000 environments per 10 s: reaching the 100 ms figure from cold takes minutes; pre-scale with provisioned concurrency"},
		quota{"SQS standard requests/s (trigger send, batched receive and delete)", runs * 1.2, math.Inf(1), "standard queues have no throughput quota; a FIFO queue would (3,000/s batched)"})
	t.Logf("%-82s %12s %10s  %s", "quota", "needed", "default", "note")
	for _, q := range qs {
		mark := ""
		if q.need > q.standard {
			mark = " (raise)"
		}
		t.Logf("%-82s %12.0f %10.0f  %s%s", q.name, q.need, q.standard, q.note, mark)
	}
	if !slices.ContainsFunc(qs, func(q quota) bool { return q.need > q.standard }) {
		t.Error("the peak needs no quota raised: the model is not exercising the account limits")
	}
}
