package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordoflow/ordo/infra/localrun"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// NapFunction is the mode-cost benchmark's step function (deployed by
// bench/modecost/template.yaml as "<stack>-bench-nap").
const NapFunction = "bench-nap"

// Nap is the nap step's handler: it sleeps for its input's napMs
// milliseconds (or until its context ends) and answers {"napped":ms}.
var Nap = step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
	var in struct {
		NapMs int `json:"napMs"`
	}
	_ = json.Unmarshal(req.Input, &in)
	t := time.NewTimer(time.Duration(in.NapMs) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return step.Result{}, ctx.Err()
	}
	return step.Result{Output: json.RawMessage(`{"napped":` + strconv.Itoa(in.NapMs) + `}`)}, nil
})

// ModeCostOptions configures ModeCost.
type ModeCostOptions struct {
	Runs  int             // runs per configuration
	K     int             // steps per run
	Steps []time.Duration // step durations
	// Log receives localrun's output (the functions' logs are read from it
	// too).
	Log io.Writer
}

// ModeCostRow is what one configuration (invoke mode × step duration)
// measured on the local stack: counts, not times, except Elapsed.
type ModeCostRow struct {
	Mode        string // workflow.InvokeSync or workflow.InvokeAsync
	Step        time.Duration
	Transitions int // runs × K
	// Invocations and Records are the orchestrator Lambda's invocations
	// and the queue messages they carried (event source pollers).
	Invocations, Records int
	// Calls are the orchestrator's AWS calls by "Service.Operation" (its
	// EMF call-count lines).
	Calls map[string]int64
	// WriteUnits and ReadUnits are the DynamoDB capacity those calls
	// consumed, the indexes' included (the same lines).
	WriteUnits, ReadUnits float64
	// Results is the destination records sent to the orchestrator's
	// queue (one per asynchronous attempt).
	Results int
	Elapsed time.Duration
}

// ModeCost runs, for each step duration in o.Steps and each invoke mode,
// o.Runs runs of a chain of o.K nap steps through the real platform on the
// local AWS stack: template.yaml (repo is the repository root) beside
// bench/modecost/template.yaml's nap step, the real bootstraps run by
// infra/localrun, runs started by "start" messages on the orchestrator's
// queue. It counts what the orchestrator did. After the runs of an
// asynchronous configuration complete it waits for their attempts' lease
// wake-ups (continuations sent at each start, due StepTimeout +
// LeaseMargin later), which are part of what that mode costs.
func ModeCost(ctx context.Context, repo string, o ModeCostOptions) ([]ModeCostRow, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	logs := &lockedBuffer{}
	var w io.Writer = logs
	if o.Log != nil {
		w = io.MultiWriter(logs, o.Log)
	}
	name := fmt.Sprintf("mc%d", time.Now().UnixNano()%1e8)
	stack, err := localrun.Up(ctx, localrun.Options{Template: filepath.Join(repo, "template.yaml"), StackName: name,
		Templates: []string{filepath.Join(repo, "bench", "modecost", "template.yaml")},
		Config:    &cfg, Log: w, SQSWaitSeconds: 1, Concurrency: 8, Parameters: map[string]string{"LogLevel": "warn"}})
	if err != nil {
		return nil, fmt.Errorf("local up: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		stack.Down(dctx)
	}()
	var table, queue string
	for _, r := range stack.Status().Resources {
		switch {
		case r.Type == "AWS::DynamoDB::Table":
			table = r.Name
		case r.LogicalID == "OrchestratorQueue":
			queue = r.URL
		}
	}
	store := dynamojournal.New(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }), table)
	reg := orchestrator.New(store, nil)
	type config struct {
		mode string
		step time.Duration
		def  *workflow.Definition
	}
	var configs []config
	for _, d := range o.Steps {
		for _, mode := range []string{workflow.InvokeSync, workflow.InvokeAsync} {
			def := napChain(mode, d, o.K)
			// Registered before the orchestrator's first message: its first
			// invocation loads the stored definitions.
			if err := reg.Register(ctx, def); err != nil {
				return nil, err
			}
			configs = append(configs, config{mode, d, def})
		}
	}
	sq := sqs.NewFromConfig(cfg)
	// Warm up: cold starts (the orchestrator's and the step's containers,
	// the callback key read) are not the measure.
	for _, c := range configs[:min(2, len(configs))] {
		runs, err := startRuns(ctx, sq, queue, c.def.Name, "warm", c.step, 2)
		if err != nil {
			return nil, err
		}
		due, err := awaitRuns(ctx, store, runs)
		if err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		if c.mode == workflow.InvokeAsync {
			if err := sleepUntil(ctx, due.Add(2*time.Second)); err != nil {
				return nil, err
			}
		}
	}
	if err := quiet(ctx, stack, 2*time.Second); err != nil {
		return nil, err
	}
	var rows []ModeCostRow
	for i, c := range configs {
		inv0, rec0 := orchestratorInvocations(stack)
		calls0 := emfTotals(logs.String())
		start := time.Now()
		runs, err := startRuns(ctx, sq, queue, c.def.Name, fmt.Sprintf("c%d", i), c.step, o.Runs)
		if err != nil {
			return rows, err
		}
		due, err := awaitRuns(ctx, store, runs)
		if err != nil {
			return rows, fmt.Errorf("%s %s: %w", c.mode, c.step, err)
		}
		elapsed := time.Since(start)
		if c.mode == workflow.InvokeAsync {
			// The lease wake-ups: each is a delayed continuation, sent at the
			// attempt's start and handled when due.
			if err := sleepUntil(ctx, due.Add(2*time.Second)); err != nil {
				return rows, err
			}
		}
		if err := quiet(ctx, stack, 3*time.Second); err != nil {
			return rows, err
		}
		inv1, rec1 := orchestratorInvocations(stack)
		used := diffCounts(emfTotals(logs.String()), calls0)
		row := ModeCostRow{Mode: c.mode, Step: c.step, Transitions: o.Runs * o.K, Invocations: inv1 - inv0, Records: rec1 - rec0,
			Calls: map[string]int64{}, WriteUnits: used[emfWriteUnits], ReadUnits: used[emfReadUnits], Elapsed: elapsed}
		for k, v := range used {
			if strings.Contains(k, ".") {
				row.Calls[k] = int64(v)
			}
		}
		if c.mode == workflow.InvokeAsync {
			row.Results = row.Transitions
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// napChain is a chain of k nap steps of d each, invoked in mode.
func napChain(mode string, d time.Duration, k int) *workflow.Definition {
	opts := []workflow.Option{workflow.Version("1"), workflow.Key("input.id")}
	for i := 1; i <= k; i++ {
		so := []workflow.StepOption{workflow.Invoke(mode), workflow.Timeout(d + 5*time.Second)}
		if i > 1 {
			so = append(so, workflow.After(fmt.Sprintf("s%d", i-1)))
		}
		opts = append(opts, workflow.Step(fmt.Sprintf("s%d", i), NapFunction, so...))
	}
	return workflow.New(fmt.Sprintf("modecost-%s-%dms", mode, d.Milliseconds()), opts...).MustBuild()
}

// startRuns sends n "start" messages to the orchestrator's queue.
func startRuns(ctx context.Context, sq *sqs.Client, queue, wf, prefix string, d time.Duration, n int) ([]string, error) {
	var runs []string
	for start := 0; start < n; start += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i := start; i < min(start+10, n); i++ {
			id := fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, i)
			body := fmt.Sprintf(`{"ordo":"start","workflow":%q,"input":{"id":%q,"napMs":%d}}`, wf, id, d.Milliseconds())
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body)})
			runs = append(runs, orchestrator.RunID(wf, id))
		}
		if _, err := sq.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries}); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// awaitRuns waits until every run completed and returns the latest lease
// of their attempts.
func awaitRuns(ctx context.Context, store journal.Store, runs []string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var due time.Time
	for _, run := range runs {
		for {
			head, events, err := store.Load(ctx, run)
			if err == nil && head.Status.Terminal() {
				if head.Status != journal.StatusCompleted {
					return due, fmt.Errorf("run %s %s", run, head.Status)
				}
				for _, e := range events {
					if e.Kind == journal.StepScheduled && e.Due.After(due) {
						due = e.Due
					}
				}
				break
			}
			if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
				return due, fmt.Errorf("run %s not completed (status %q): %w", run, head.Status, err)
			}
		}
	}
	return due, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sleepUntil(ctx context.Context, t time.Time) error { return sleepCtx(ctx, time.Until(t)) }

// quiet waits until the orchestrator has had no invocation for d.
func quiet(ctx context.Context, stack *localrun.Stack, d time.Duration) error {
	last, _ := orchestratorInvocations(stack)
	since := time.Now()
	for time.Since(since) < d {
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
		if n, _ := orchestratorInvocations(stack); n != last {
			last, since = n, time.Now()
		}
	}
	return nil
}

func orchestratorInvocations(stack *localrun.Stack) (invocations, records int) {
	for _, p := range stack.Status().Pollers {
		if p.Function == "OrchestratorFunction" {
			invocations += p.Invocations
			records += p.Records
		}
	}
	return invocations, records
}

// The names of the DynamoDB units consumed in the orchestrator's EMF
// call-count lines (functions/internal.WriteUnits, ReadUnits).
const (
	emfWriteUnits = "DynamoDBWriteUnits"
	emfReadUnits  = "DynamoDBReadUnits"
)

// emfTotals sums the orchestrator's EMF call-count lines in logs: calls by
// "Service.Operation", and the DynamoDB units consumed.
func emfTotals(logs string) map[string]float64 {
	sum := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "{")
		if i < 0 || !strings.Contains(line, "ordoCalls") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line[i:]), &m) != nil || m["Function"] != "orchestrator" {
			continue
		}
		for k, v := range m {
			if f, ok := v.(float64); ok && (strings.Contains(k, ".") || k == emfWriteUnits || k == emfReadUnits) {
				sum[k] += f
			}
		}
	}
	return sum
}

func diffCounts(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
