package dynamojournal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
)

// The capacity model: a peak workload driven through the Store's real key
// design (StatusPartition, WorkflowPartition, RunPartition) and its real
// item encoding (commitItem, itemSize), counting the write and read units
// that land on every partition key of the table and of each index in one
// second of steady state, and the Lambda, SQS and DynamoDB quotas the peak
// needs. A change to the key design or the encoding changes its figures.
// docs/SCALING.md explains them; `ordo capacity` runs it on a team's own
// workload.

// DynamoDB's per-partition limits, in units per second.
const (
	PartitionWCU = 1000
	PartitionRCU = 3000
)

// Workload is a peak the capacity model drives.
type Workload struct {
	// Transitions is step transitions per second, all workflows together.
	Transitions float64
	// Workflows is how many workflows share them; the first takes HotShare
	// of the transitions, the others the rest in Zipf proportions (1/rank).
	Workflows int
	HotShare  float64
	// RunSteps are run lengths in steps: workflow i runs RunSteps[i mod
	// len], so the busiest runs RunSteps[0] (the shortest is the worst case
	// for the indexes: the most runs per transition).
	RunSteps []int
	// Review is the share of runs that end in review.
	Review float64
	// Shards is the index shard count (WithIndexShards, the stack's
	// IndexShards).
	Shards int
	// OrchestratorTime is the orchestrator's own time per transition on
	// real AWS (a PutItem and an Invoke round trip), the step apart.
	OrchestratorTime time.Duration
	// Batch is how many queue records one orchestrator invocation drives
	// at once (the event source mapping's BatchSize).
	Batch int
	// Listings are index listings per second (review queue and console),
	// each reading a page of 50 heads from every shard.
	Listings float64
	// ColdShare is the share of runs whose drive finds no cached state and
	// loads the whole run once (a new container).
	ColdShare float64
	// StepDurations are the step lengths for which Lambda concurrency is
	// accounted (synchronous invokes keep the orchestrator busy meanwhile).
	StepDurations []time.Duration
}

// PeakDay is the workload of docs/SCALING.md: 100,000 step transitions/s,
// 50 workflows (one taking half), runs of 5 and 200 steps, 10% to review.
func PeakDay(shards int) Workload {
	return Workload{Transitions: 100_000, Workflows: 50, HotShare: 0.5, RunSteps: []int{5, 200}, Review: 0.10,
		Shards: shards, OrchestratorTime: 15 * time.Millisecond, Batch: 10, Listings: 20, ColdShare: 0.05,
		StepDurations: []time.Duration{time.Millisecond, 100 * time.Millisecond, time.Second}}
}

// Validate names what makes w impossible to model.
func (w Workload) Validate() error {
	var errs []error
	if w.Transitions <= 0 {
		errs = append(errs, errors.New("transitions per second must be positive"))
	}
	if w.Workflows < 1 {
		errs = append(errs, errors.New("workflows must be at least 1"))
	}
	if w.HotShare <= 0 || w.HotShare > 1 || (w.Workflows == 1 && w.HotShare != 1) {
		errs = append(errs, fmt.Errorf("hot share %g: want (0, 1], and 1 with a single workflow", w.HotShare))
	}
	if len(w.RunSteps) == 0 {
		errs = append(errs, errors.New("run lengths: give at least one"))
	}
	for _, k := range w.RunSteps {
		if k < 1 {
			errs = append(errs, fmt.Errorf("run length %d: want at least 1 step", k))
		}
	}
	if w.Review < 0 || w.Review > 1 {
		errs = append(errs, fmt.Errorf("review share %g: want [0, 1]", w.Review))
	}
	if w.Shards < 1 || w.Shards > 1024 {
		errs = append(errs, fmt.Errorf("shards %d: want 1 to 1024", w.Shards))
	}
	if w.Batch < 1 {
		errs = append(errs, fmt.Errorf("batch %d: want at least 1", w.Batch))
	}
	if w.OrchestratorTime < 0 || w.Listings < 0 || w.ColdShare < 0 || w.ColdShare > 1 {
		errs = append(errs, errors.New("orchestrator time, listings and cold share must not be negative (cold share at most 1)"))
	}
	return errors.Join(errs...)
}

// share is workflow i's share of transitions.
func (w Workload) share(i int) float64 {
	if i == 0 {
		return w.HotShare
	}
	var h float64
	for r := 1; r < w.Workflows; r++ {
		h += 1 / float64(r)
	}
	return (1 - w.HotShare) / float64(i) / h
}

func (w Workload) steps(i int) int { return w.RunSteps[i%len(w.RunSteps)] }

// CommitsPerRun is how many commits the engine journals for a run of k
// steps started by a trigger: the start with the first decision (the
// orchestrator journals them together, StartRequest.Decide), then one per
// step result. A run started through the API writes its first decision
// apart: one commit more.
func CommitsPerRun(k int) int { return k + 1 }

// whereTable names the table beside its indexes in a Capacity.
const whereTable = "table"

// Partitions is one table's (or index's) load in the model.
type Partitions struct {
	Where                   string // "table", IndexByWorkflow or IndexByStatus
	Writes, Reads           float64
	HotWriteKey, HotReadKey string
	HotWrite, HotRead       float64
}

// Over reports whether p's busiest keys exceed DynamoDB's partition limits.
func (p Partitions) Over() bool { return p.HotWrite > PartitionWCU || p.HotRead > PartitionRCU }

// Quota is one service quota the peak needs, against its default.
type Quota struct {
	Name          string
	Need, Default float64
	Note          string
}

// Raise reports whether the quota must be raised for the peak.
func (q Quota) Raise() bool { return q.Need > q.Default }

// ItemUnits are the write units of the representative items of one run,
// as the Store encodes them.
type ItemUnits struct {
	Start, Step, Done, Review int // commits
	Head, Entry               int // the head and an index entry
	StepBytes, HeadBytes      int
}

// Capacity is what a Workload takes.
type Capacity struct {
	Workload   Workload
	Runs       float64 // runs started (and ended) per second
	Items      ItemUnits
	Partitions []Partitions // table, byWorkflow, byStatus
	Quotas     []Quota
}

// Fits reports whether every partition key stays under its limits.
func (c Capacity) Fits() bool {
	for _, p := range c.Partitions {
		if p.Over() {
			return false
		}
	}
	return true
}

// Model drives one second of w's steady state through the key design.
func Model(w Workload) (Capacity, error) {
	if err := w.Validate(); err != nil {
		return Capacity{}, err
	}
	writes, reads, runs, items, err := simulate(w)
	if err != nil {
		return Capacity{}, err
	}
	c := Capacity{Workload: w, Runs: runs, Items: items}
	for _, where := range []string{whereTable, IndexByWorkflow, IndexByStatus} {
		p := Partitions{Where: where, Writes: writes.total(where), Reads: reads.total(where)}
		p.HotWriteKey, p.HotWrite = writes.hottest(where)
		p.HotReadKey, p.HotRead = reads.hottest(where)
		c.Partitions = append(c.Partitions, p)
	}
	c.Quotas = quotas(w, writes, reads, runs)
	return c, nil
}

// MinShards is the smallest power of two of shards (up to 1024) at which
// w fits DynamoDB's partition limits, or 0 when none does.
func MinShards(w Workload) (int, error) {
	for n := 1; n <= 1024; n *= 2 {
		w.Shards = n
		c, err := Model(w)
		if err != nil {
			return 0, err
		}
		if c.Fits() {
			return n, nil
		}
	}
	return 0, nil
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

// measureItems encodes a representative run of workflow with the Store's
// own commitItem and sizes its head and index entries with itemSize.
func measureItems(s *Store, workflow, run string) (ItemUnits, error) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	order := json.RawMessage(`{"orderId":"ord-7f3a9c21","customer":"cus-19a7f0","items":[{"sku":"SKU-00042","qty":2,"price":19.99},{"sku":"SKU-07919","qty":1,"price":129.00}],"total":168.98,"currency":"EUR"}`)
	out := json.RawMessage(`{"reservation":"rsv-5c1e0b9d","warehouse":"FRA-2","items":[{"sku":"SKU-00042","qty":2},{"sku":"SKU-07919","qty":1}],"status":"ok"}`)
	var err error
	size := func(c journal.Commit, status journal.Status) int {
		item, _, e := s.commitItem(c, status, at, "5f0c2a9e1b7d4c3a8e6f0a1b")
		if e != nil {
			err = errors.Join(err, e)
			return 0
		}
		return itemSize(item)
	}
	hash := strings.Repeat("ab", 32)
	var it ItemUnits
	it.Start = units(size(journal.Commit{Run: run, Workflow: workflow, DefHash: hash, Events: []journal.Event{
		{Kind: journal.RunStarted, At: at, Workflow: workflow, DefHash: hash, Key: "ord-7f3a9c21", Trigger: "trg-01JDX7", Input: order},
		{Kind: journal.StepScheduled, At: at, Step: "reserve-inventory", Attempt: 1, Due: at.Add(30 * time.Second)},
	}}, journal.StatusRunning))
	it.StepBytes = size(journal.Commit{Run: run, After: 2, Events: []journal.Event{
		{Kind: journal.StepSucceeded, At: at, Step: "reserve-inventory", Attempt: 1, Output: out},
		{Kind: journal.StepScheduled, At: at, Step: "charge-payment", Attempt: 1, Due: at.Add(30 * time.Second)},
	}}, "")
	it.Step = units(it.StepBytes)
	it.Done = units(size(journal.Commit{Run: run, After: 6, Events: []journal.Event{
		{Kind: journal.StepSucceeded, At: at, Step: "ship", Attempt: 1, Output: out},
		{Kind: journal.RunCompleted, At: at, Output: out},
	}}, journal.StatusCompleted))
	it.Review = units(size(journal.Commit{Run: run, After: 6, Events: []journal.Event{
		{Kind: journal.StepFailed, At: at, Step: "charge-payment", Attempt: 3, Error: &journal.Error{Message: "card declined: insufficient funds", Kind: "declined", Terminal: true}},
		{Kind: journal.NeedsReview, At: at, Reason: "step charge-payment failed: card declined: insufficient funds"},
	}}, journal.StatusReview))
	if err != nil {
		return ItemUnits{}, err
	}
	ts := fmtTime(at)
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	head := map[string]types.AttributeValue{
		attrPK: str(RunPartition(run)), attrSK: str(skHead), attrID: str(run), attrWorkflow: str(workflow),
		attrDefHash: str(hash), attrStatus: str(string(journal.StatusCompleted)),
		attrSeq: &types.AttributeValueMemberN{Value: "7"}, attrCreated: str(ts), attrUpdated: str(ts),
		attrGSI1PK: str(WorkflowPartition(workflow, run, s.opts.shards)), attrGSI1SK: str(sortKey(at, run)),
		attrGSI2PK: str(StatusPartition(journal.StatusCompleted, run, s.opts.shards)), attrGSI2SK: str(sortKey(at, run)),
	}
	it.HeadBytes = itemSize(head)
	it.Head = units(it.HeadBytes)
	// An index entry holds the table's keys, its own keys and the
	// projected attributes (runAttrs); the other index's keys are not in it.
	entry := map[string]types.AttributeValue{}
	for _, a := range append([]string{attrPK, attrSK, attrGSI2PK, attrGSI2SK}, runAttrs...) {
		entry[a] = head[a]
	}
	it.Entry = units(itemSize(entry))
	return it, nil
}

// simulate drives one second of w's steady state: in every workflow the
// runs that start, step and end in a second (rate/K of each), with run
// ids as the engine builds them (workflow "/" key), and returns the units
// landing on each partition key and the runs per second.
func simulate(w Workload) (writes, reads load, runs float64, sizes ItemUnits, err error) {
	s := New(nil, "journal", WithIndexShards(w.Shards))
	writes, reads = load{}, load{}
	reviewEvery := 0
	if w.Review > 0 {
		reviewEvery = max(int(math.Round(1/w.Review)), 1)
	}
	for i := range w.Workflows {
		workflow := "wf-" + strconv.Itoa(i)
		k := w.steps(i)
		n := int(math.Round(w.Transitions * w.share(i) / float64(k)))
		runs += float64(n)
		// Item sizes differ between runs only by their id's length: size
		// them once, with the longest id of the workflow.
		it, err := measureItems(s, workflow, workflow+"/ord-"+strconv.Itoa(max(n-1, 0)))
		if err != nil {
			return nil, nil, 0, ItemUnits{}, err
		}
		if i == 0 {
			sizes = it
		}
		for j := range n {
			run := workflow + "/ord-" + strconv.Itoa(j)
			end, endStatus := it.Done, journal.StatusCompleted
			if reviewEvery > 0 && j%reviewEvery == 0 {
				end, endStatus = it.Review, journal.StatusReview
			}
			// The run's own partition: its commits (the start, then
			// CommitsPerRun-2 step commits, then the end) and two head
			// writes, counted as if the whole run fell in this second (an
			// upper bound per key; the totals are exact).
			writes.add(whereTable, RunPartition(run), float64(it.Start+(CommitsPerRun(k)-2)*it.Step+end+2*it.Head))
			// Start: the head's entry is put into byStatus (an unsettled
			// run is not in byWorkflow).
			writes.add(IndexByStatus, StatusPartition(journal.StatusRunning, run, w.Shards), float64(it.Entry))
			// End: byStatus's entry moves to another status; a settled run
			// enters byWorkflow.
			writes.add(IndexByStatus, StatusPartition(journal.StatusRunning, run, w.Shards), float64(it.Entry))
			writes.add(IndexByStatus, StatusPartition(endStatus, run, w.Shards), float64(it.Entry))
			if endStatus.Terminal() {
				writes.add(IndexByWorkflow, WorkflowPartition(workflow, run, w.Shards), float64(it.Entry))
			}
			// Reads: the first drive after Start catches up with one
			// strongly consistent Query (1 RCU up to 4 KB); a cold drive
			// asks for the run's snapshot (a consistent GetItem, 1 RCU;
			// runs this short have none) and loads the whole run.
			reads.add(whereTable, RunPartition(run), 1)
			if float64(j%100) < w.ColdShare*100 {
				reads.add(whereTable, RunPartition(run), 1+math.Ceil(float64(CommitsPerRun(k)*it.StepBytes+it.HeadBytes)/4096))
			}
		}
	}
	// Listings read a page of 50 heads from every shard and the unsharded
	// key (eventually consistent: 0.5 RCU per 4 KB), half of them the
	// review queue and half the busiest workflow.
	page := math.Ceil(float64(50*sizes.HeadBytes)/4096) / 2
	for _, key := range statusPartitions(journal.StatusReview, w.Shards) {
		reads.add(IndexByStatus, key, w.Listings/2*page)
	}
	// A workflow's listing reads its settled runs from byWorkflow and its
	// unsettled ones from byStatus, filtered (charged as a page each).
	for _, key := range workflowPartitions("wf-0", w.Shards) {
		reads.add(IndexByWorkflow, key, w.Listings/2*page)
	}
	for _, st := range unsettled {
		for _, key := range statusPartitions(st, w.Shards) {
			reads.add(IndexByStatus, key, w.Listings/2*page)
		}
	}
	return writes, reads, runs, sizes, nil
}

// quotas accounts Lambda concurrency (synchronous invokes keep the
// orchestrator busy while its steps run: concurrency = rate × duration),
// the SQS traffic and DynamoDB throughput against the default quotas.
func quotas(w Workload, writes, reads load, runs float64) []Quota {
	var qs []Quota
	for _, where := range []string{whereTable, IndexByWorkflow, IndexByStatus} {
		qs = append(qs, Quota{"DynamoDB on-demand write request units/s, " + where, writes.total(where), 40_000,
			"per-table on-demand throughput quota (each index has its own); raise, and pre-warm (warm throughput) before the peak"})
	}
	qs = append(qs, Quota{"DynamoDB on-demand read request units/s, table", reads.total(whereTable), 40_000, ""})
	orch := w.OrchestratorTime.Seconds()
	for _, d := range w.StepDurations {
		step := d.Seconds()
		stepC := w.Transitions * step
		orchC := w.Transitions * (step + orch) / float64(w.Batch)
		label := fmt.Sprintf("%g ms steps", step*1000)
		qs = append(qs,
			Quota{"Lambda concurrent executions (account, region), " + label, stepC + orchC, 1_000,
				fmt.Sprintf("steps %.0f + orchestrator %.0f (rate × (step + %.0f ms) ÷ %d records per invocation)", stepC, orchC, orch*1000, w.Batch)},
			Quota{"orchestrator concurrency from one SQS event source mapping, " + label, orchC, 1_250,
				"a standard queue's event source mapping scales to 1,250 concurrent invocations at most; more needs more queues or asynchronous steps"})
	}
	return append(qs,
		Quota{"Lambda synchronous invokes/s (10 × concurrency quota)", w.Transitions, 10 * 1_000, "Invoke requests per second per region = 10 × the concurrency quota"},
		Quota{"Lambda scaling, new environments per function per 10 s", 1_000, 1_000, "each function adds 1,000 environments per 10 s: reaching thousands from cold takes minutes; pre-scale with provisioned concurrency"},
		Quota{"SQS standard requests/s (trigger send, batched receive and delete)", runs * 1.2, math.Inf(1), "standard queues have no throughput quota; a FIFO queue would (3,000/s batched)"})
}

// WriteTo writes c as the text report `ordo capacity` prints.
func (c Capacity) WriteTo(out io.Writer) (int64, error) {
	var b strings.Builder
	w := c.Workload
	steps := make([]string, len(w.RunSteps))
	for i, k := range w.RunSteps {
		steps[i] = strconv.Itoa(k)
	}
	fmt.Fprintf(&b, "workload: %.0f step transitions/s, %d workflows (the busiest takes %.0f%%), runs of %s steps, %.0f runs/s, %.0f%% to review, %d index shards\n",
		w.Transitions, w.Workflows, 100*w.HotShare, strings.Join(steps, " and "), c.Runs, 100*w.Review, w.Shards)
	it := c.Items
	fmt.Fprintf(&b, "items (real encoding): start commit %d WCU, step commit %d WCU (%d B), completion %d WCU, review %d WCU, head %d WCU (%d B), index entry %d WCU\n",
		it.Start, it.Step, it.StepBytes, it.Done, it.Review, it.Head, it.HeadBytes, it.Entry)
	fmt.Fprintf(&b, "%-11s %12s %12s %-28s %10s %-28s %10s\n", "where", "WCU/s total", "RCU/s total", "hottest write key", "WCU/s", "hottest read key", "RCU/s")
	for _, p := range c.Partitions {
		mark := ""
		if p.Over() {
			mark = "  OVER the partition limits (1,000 WCU/s, 3,000 RCU/s): more shards"
		}
		fmt.Fprintf(&b, "%-11s %12.0f %12.0f %-28s %10.0f %-28s %10.1f%s\n", p.Where, p.Writes, p.Reads, p.HotWriteKey, p.HotWrite, p.HotReadKey, p.HotRead, mark)
	}
	fmt.Fprintf(&b, "%-82s %12s %10s  %s\n", "quota", "needed", "default", "note")
	for _, q := range c.Quotas {
		mark := ""
		if q.Raise() {
			mark = " (raise)"
		}
		fmt.Fprintf(&b, "%-82s %12.0f %10.0f  %s%s\n", q.Name, q.Need, q.Default, q.Note, mark)
	}
	n, err := io.WriteString(out, b.String())
	return int64(n), err
}
