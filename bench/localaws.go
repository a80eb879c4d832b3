package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ordoflow/ordo/infra/localrun"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// StackMissing says why the local AWS stack cannot be used, or "" when both
// emulators answer.
func StackMissing() string {
	ddb, other := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), os.Getenv("AWS_ENDPOINT_URL")
	if answering(ddb) && answering(other) {
		return ""
	}
	return fmt.Sprintf("local AWS stack not answering (AWS_ENDPOINT_URL=%q, AWS_ENDPOINT_URL_DYNAMODB=%q): run infra/install.sh && infra/start.sh && . infra/env.sh", other, ddb)
}

func answering(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Calls counts AWS API calls by "Service.Operation" and the DynamoDB
// capacity they consumed, through an SDK middleware (it also asks DynamoDB
// to return consumed capacity on every call that can).
type Calls struct {
	mu sync.Mutex
	CallCounts
}

// CallCounts are counted calls and DynamoDB capacity units.
type CallCounts struct {
	Count    map[string]int64
	WCU, RCU float64
	// Units is the capacity units (read + write) consumed by each call.
	Units map[string]float64
	// Time is the time spent in each call (SDK retries included).
	Time map[string]time.Duration
}

// Mean is the mean duration of the calls counted as key.
func (c CallCounts) Mean(key string) time.Duration {
	if c.Count[key] == 0 {
		return 0
	}
	return c.Time[key] / time.Duration(c.Count[key])
}

// NewCalls returns an empty counter.
func NewCalls() *Calls {
	return &Calls{CallCounts: CallCounts{Count: map[string]int64{}, Units: map[string]float64{}, Time: map[string]time.Duration{}}}
}

// Take returns the counts so far and resets them.
func (c *Calls) Take() CallCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.CallCounts
	c.CallCounts = CallCounts{Count: map[string]int64{}, Units: map[string]float64{}, Time: map[string]time.Duration{}}
	return out
}

// Middleware registers the counter on an SDK stack (aws.Config.APIOptions).
func (c *Calls) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ordoBenchCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			total := ddbtypes.ReturnConsumedCapacityTotal
			switch p := in.Parameters.(type) {
			case *dynamodb.PutItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.TransactWriteItemsInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.QueryInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.GetItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.UpdateItemInput:
				p.ReturnConsumedCapacity = total
			}
			t := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			took := time.Since(t)
			var wcu, rcu float64
			add := func(cc []ddbtypes.ConsumedCapacity, write bool) {
				for _, x := range cc {
					v := aws.ToFloat64(x.CapacityUnits)
					if x.WriteCapacityUnits != nil || x.ReadCapacityUnits != nil {
						wcu += aws.ToFloat64(x.WriteCapacityUnits)
						rcu += aws.ToFloat64(x.ReadCapacityUnits)
					} else if write {
						wcu += v
					} else {
						rcu += v
					}
				}
			}
			switch r := out.Result.(type) {
			case *dynamodb.PutItemOutput:
				if r.ConsumedCapacity != nil {
					add([]ddbtypes.ConsumedCapacity{*r.ConsumedCapacity}, true)
				}
			case *dynamodb.UpdateItemOutput:
				if r.ConsumedCapacity != nil {
					add([]ddbtypes.ConsumedCapacity{*r.ConsumedCapacity}, true)
				}
			case *dynamodb.TransactWriteItemsOutput:
				add(r.ConsumedCapacity, true)
			case *dynamodb.QueryOutput:
				if r.ConsumedCapacity != nil {
					add([]ddbtypes.ConsumedCapacity{*r.ConsumedCapacity}, false)
				}
			case *dynamodb.GetItemOutput:
				if r.ConsumedCapacity != nil {
					add([]ddbtypes.ConsumedCapacity{*r.ConsumedCapacity}, false)
				}
			}
			key := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.Count[key]++
			c.Time[key] += took
			c.WCU += wcu
			c.Units[key] += wcu + rcu
			c.RCU += rcu
			c.mu.Unlock()
			return out, md, err
		}), middleware.After)
}

// AWSResult is what the local-AWS workload measured.
type AWSResult struct {
	Ordo  Result
	Calls CallCounts // the orchestrator's calls during the ordo workload
	// Baseline is the raw conditional PutItem + Invoke pairs of both raw
	// rounds together (Before and After the ordo workload).
	Baseline, Before, After Rate
	// RawCalls are the calls of both raw rounds.
	RawCalls CallCounts
	// InvokeP50 is the p50 of the baseline's Invoke round trips.
	InvokeP50 time.Duration
	// Dials counts the TCP connections opened to each endpoint (host:port)
	// during the ordo workload and during the raw rounds: connections
	// closed for exceeding the idle pool and dialled again show up here.
	Dials, RawDials map[string]int64
}

// AWSOptions configures LocalAWS.
type AWSOptions struct {
	// IdleConnsPerHost is the HTTP transport's MaxIdleConnsPerHost for both
	// the engine's and the baseline's clients (one shared transport). 0:
	// the SDK's default (10), which below C concurrent calls to one
	// emulator closes and re-dials connections all the time.
	IdleConnsPerHost int
	// Profile, if set, is called when a measured phase ("ordo", "raw")
	// starts; the function it returns is called when the phase ends.
	Profile func(phase string) (stop func())
}

// dialCounter counts the connections a transport opens, per address.
type dialCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

func (d *dialCounter) dial(dialer *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.mu.Lock()
		d.n[addr]++
		d.mu.Unlock()
		return dialer.DialContext(ctx, network, addr)
	}
}

func (d *dialCounter) take() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.n
	d.n = map[string]int64{}
	return out
}

// lambdaInvoker invokes the one deployed no-op function for every step, as
// a synchronous RequestResponse invoke (what the orchestrator Lambda does).
type lambdaInvoker struct {
	client *awslambda.Client
	name   string
}

func (i lambdaInvoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return step.Response{}, err
	}
	out, err := i.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(i.name), Payload: payload,
		InvocationType: lambdatypes.InvocationTypeRequestResponse})
	if err != nil {
		return step.Response{}, err
	}
	if out.FunctionError != nil {
		return step.Response{Error: &step.Failure{Message: string(out.Payload), Kind: "lambda"}}, nil
	}
	var resp step.Response
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		return step.Response{}, fmt.Errorf("invoke %s: %w", i.name, err)
	}
	return resp, nil
}

// LocalAWS runs s through the engine against DynamoDB Local (journal) and
// kumo (steps as the real ordo-noop-step Lambda binary, run by
// infra/localrun from bench/template.yaml), and the raw baseline: s.N×s.K
// conditional PutItems of a commit-sized item each followed by an Invoke of
// the same function, at the same concurrency, through the same clients.
//
// Both paths are warmed up first (function instances, connection pools,
// DynamoDB Local's JIT), then the baseline runs once before and once after
// the ordo workload, so that drift of the shared machine during the run
// weighs on both sides. benchDir is this package's directory (for the
// template); log receives localrun's output.
func LocalAWS(ctx context.Context, benchDir string, s Shape, log io.Writer, opts AWSOptions) (AWSResult, error) {
	if opts.Profile == nil {
		opts.Profile = func(string) func() { return func() {} }
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return AWSResult{}, err
	}
	dials := &dialCounter{n: map[string]int64{}}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.DialContext = dials.dial(&net.Dialer{Timeout: awshttp.DefaultDialConnectTimeout, KeepAlive: awshttp.DefaultDialKeepAliveTimeout})
		if opts.IdleConnsPerHost > 0 {
			t.MaxIdleConnsPerHost = opts.IdleConnsPerHost
			t.MaxIdleConns = max(t.MaxIdleConns, 4*opts.IdleConnsPerHost)
		}
	})
	calls := NewCalls()
	cfg.APIOptions = append(cfg.APIOptions, calls.Middleware)
	name := fmt.Sprintf("bench%d", time.Now().UnixNano()%1e8)
	stack, err := localrun.Up(ctx, localrun.Options{Template: filepath.Join(benchDir, "template.yaml"), StackName: name,
		Config: &cfg, Log: log, Concurrency: min(s.C, 4*runtime.NumCPU())})
	if err != nil {
		return AWSResult{}, fmt.Errorf("local up: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		stack.Down(dctx)
	}()
	fn := stack.Resource("NoopStepFunction")
	if fn == nil {
		return AWSResult{}, fmt.Errorf("bench template has no NoopStepFunction")
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	table := name + "-journal"
	if err := dynamojournal.CreateTable(ctx, ddb, table); err != nil {
		return AWSResult{}, err
	}
	defer ddb.DeleteTable(context.WithoutCancel(ctx), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	lc := awslambda.NewFromConfig(cfg)
	inv := lambdaInvoker{client: lc, name: fn.Name}
	store := dynamojournal.New(ddb, table)
	eng := orchestrator.New(store, inv, orchestrator.WithLogger(discard))
	def := Chain(s.K)
	if err := eng.Register(ctx, def); err != nil {
		return AWSResult{}, err
	}
	commits, err := Journal(def, Input, Input)
	if err != nil {
		return AWSResult{}, err
	}
	enc, _ := journal.EncodeEvents(commits[1])

	// Warm up the function instances (cold starts are not the measure),
	// then both measured paths at full concurrency.
	var wg sync.WaitGroup
	for range min(s.C, 4*runtime.NumCPU()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv.Invoke(ctx, step.Request{Workflow: "warm", Run: "warm", Step: "warm", Attempt: 1, Input: Input})
		}()
	}
	wg.Wait()
	warmN := min(s.N, 2*s.C)
	if _, err := ordoRuns(ctx, eng, def.Name, "warm", warmN, s.C); err != nil {
		return AWSResult{}, fmt.Errorf("warm-up: %w", err)
	}
	if _, _, err := rawPutInvoke(ctx, ddb, table, "WARM", inv, warmN*s.K, s.C, enc); err != nil {
		return AWSResult{}, fmt.Errorf("warm-up: %w", err)
	}
	calls.Take()
	dials.take()

	res := AWSResult{Ordo: Result{Shape: s}}
	var p50a, p50b time.Duration
	stop := opts.Profile("raw")
	res.Before, p50a, err = rawPutInvoke(ctx, ddb, table, "RAW1", inv, s.N*s.K, s.C, enc)
	stop()
	if err != nil {
		return res, err
	}
	raw1, rawDials1 := calls.Take(), dials.take()

	stop = opts.Profile("ordo")
	start := time.Now()
	res.Ordo.Latency, err = ordoRuns(ctx, eng, def.Name, strconv.FormatInt(time.Now().UnixNano(), 36), s.N, s.C)
	res.Ordo.Elapsed = time.Since(start)
	stop()
	res.Calls, res.Dials = calls.Take(), dials.take()
	if err != nil {
		return res, err
	}
	res.Ordo.Commits = s.N * (s.K + 1) // the start with the first decision, one per step
	res.Ordo.CommitBytes = len(enc)

	stop = opts.Profile("raw")
	res.After, p50b, err = rawPutInvoke(ctx, ddb, table, "RAW2", inv, s.N*s.K, s.C, enc)
	stop()
	if err != nil {
		return res, err
	}
	res.RawCalls, res.RawDials = addCounts(raw1, calls.Take()), addDials(rawDials1, dials.take())
	res.Baseline = Rate{Ops: res.Before.Ops + res.After.Ops, Elapsed: res.Before.Elapsed + res.After.Elapsed}
	res.InvokeP50 = (p50a + p50b) / 2
	return res, nil
}

// ordoRuns starts n runs of workflow through eng with c goroutines, each
// driving its run to completion as the orchestrator Lambda does with a
// trigger (Start with the first decision, then Drive until done), and
// returns each run's latency.
func ordoRuns(ctx context.Context, eng *orchestrator.Engine, workflow, prefix string, n, c int) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				st, err := eng.Start(ctx, orchestrator.StartRequest{Workflow: workflow, Input: Input, Key: prefix + "-" + strconv.Itoa(i),
					Decide: true})
				if err == nil {
					var out orchestrator.Outcome
					for out, err = eng.Drive(ctx, st.Run); err == nil && out.Continue; out, err = eng.Drive(ctx, st.Run) {
					}
					if err == nil && out.Status != journal.StatusCompleted {
						err = fmt.Errorf("run %s: %s", st.Run, out.Status)
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return lat, err
	}
	return lat, ctx.Err()
}

func addCounts(a, b CallCounts) CallCounts {
	for k, v := range b.Count {
		a.Count[k] += v
		a.Units[k] += b.Units[k]
		a.Time[k] += b.Time[k]
	}
	a.WCU += b.WCU
	a.RCU += b.RCU
	return a
}

func addDials(a, b map[string]int64) map[string]int64 {
	for k, v := range b {
		a[k] += v
	}
	return a
}

// rawPutInvoke does n (conditional PutItem, Invoke) pairs with c workers,
// on items keyed prefix#i.
func rawPutInvoke(ctx context.Context, ddb *dynamodb.Client, table, prefix string, inv lambdaInvoker, n, c int, blob []byte) (Rate, time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	invokes := make([]time.Duration, n)
	req := step.Request{Workflow: "raw", Run: "raw", Step: "s", Attempt: 1, Input: Input}
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
					Item: map[string]ddbtypes.AttributeValue{
						"pk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("%s#%d", prefix, i)},
						"sk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("%019d", 1)},
						"ev": &ddbtypes.AttributeValueMemberB{Value: blob},
						"at": &ddbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)},
					},
					ConditionExpression: aws.String("attribute_not_exists(pk)")})
				if err == nil {
					t := time.Now()
					_, err = inv.Invoke(ctx, req)
					invokes[i] = time.Since(t)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		return Rate{}, 0, err
	}
	return Rate{Ops: n, Elapsed: elapsed}, Percentile(invokes, 50), nil
}
