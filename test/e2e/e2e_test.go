// Package e2e runs ordo end to end on the local AWS stack: the real
// template.yaml, the real Lambda bootstrap binaries (built as for AWS and
// run against kumo's Lambda runtime API by infra/localrun, which is what
// `ordo local up` runs), DynamoDB Local for the journal, and the real
// aws-sdk-go-v2 clients. Start the emulators with infra/start.sh and source
// infra/env.sh; without them the tests skip (or fail when
// ORDO_REQUIRE_STACK=1, as in CI).
package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordoflow/ordo/infra/localrun"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/workflows"
)

var (
	stack *localrun.Stack
	cfg   aws.Config
	store *dynamojournal.Store
	// s3c and payloads: the stack's payload bucket, where the functions
	// offload large commits.
	s3c      *s3.Client
	payloads string
	sqsc     *sqs.Client
	kin      *kinesis.Client
	logs     = &logBuffer{}
	// skipReason is set when the local AWS stack is not there.
	skipReason string
)

// logBuffer collects the functions' output (prefixed lines).
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if os.Getenv("ORDO_E2E_VERBOSE") != "" {
		os.Stderr.Write(p)
	}
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
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

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ddbURL, awsURL := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), os.Getenv("AWS_ENDPOINT_URL")
	if !answering(ddbURL) || !answering(awsURL) {
		skipReason = fmt.Sprintf("local AWS stack not answering (AWS_ENDPOINT_URL=%q, AWS_ENDPOINT_URL_DYNAMODB=%q): run infra/start.sh and . infra/env.sh", awsURL, ddbURL)
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			fmt.Fprintln(os.Stderr, "e2e:", skipReason)
			return 1
		}
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: aws config:", err)
		return 1
	}
	name := fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e8)
	t0 := time.Now()
	stack, err = localrun.Up(ctx, localrun.Options{Template: "../../template.yaml", StackName: name, Log: logs,
		// A team's stack beside the platform's, with a step in JavaScript.
		Templates: []string{"testdata/nodestep/template.yaml"},
		Config:    &cfg, SQSWaitSeconds: 1, Concurrency: 8,
		// A short orchestrator timeout (a 7 s Drive budget: TestSlowStep).
		Parameters: map[string]string{"LogLevel": "info", "OrchestratorTimeout": "12"}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: local up: %v\n%s", err, logs)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: stack %s up in %s\n", name, time.Since(t0).Round(time.Millisecond))
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := stack.Down(dctx); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: down:", err)
		}
	}()
	var table string
	for _, r := range stack.Status().Resources {
		switch r.Type {
		case "AWS::DynamoDB::Table":
			table = r.Name
		case "AWS::S3::Bucket":
			payloads = r.Name
		}
	}
	s3c = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	store = dynamojournal.New(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }),
		table, dynamojournal.WithS3(s3c, payloads))
	sqsc, kin = sqs.NewFromConfig(cfg), kinesis.NewFromConfig(cfg)
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: function output:\n%s", logs)
	}
	return code
}

func needStack(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func resource(t *testing.T, id string) *localrun.Resource {
	t.Helper()
	r := stack.Resource(id)
	if r == nil {
		t.Fatalf("template declares no %s", id)
	}
	return r
}

// sampleOrder returns SampleOrder(i) with a unique order id for this test run.
func sampleOrder(t *testing.T, i int, id string) json.RawMessage {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(workflows.SampleOrder(i), &o); err != nil {
		t.Fatal(err)
	}
	o["orderId"] = id
	b, _ := json.Marshal(o)
	return b
}

// settle waits until run is completed, failed, cancelled or in review.
func settle(t *testing.T, run string, timeout time.Duration) (journal.Run, []journal.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		head, events, err := store.Load(ctx, run)
		if err == nil && (head.Status.Terminal() || head.Status == journal.StatusReview) {
			return head, events
		}
		if ctx.Err() != nil {
			t.Fatalf("run %s did not settle in %s (last status %q, err %v)", run, timeout, head.Status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func count(events []journal.Event, kind journal.Kind, stepName string) int {
	n := 0
	for _, e := range events {
		if e.Kind == kind && (stepName == "" || e.Step == stepName) {
			n++
		}
	}
	return n
}

func sendSQS(t *testing.T, queue string, bodies ...string) {
	t.Helper()
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(b)}
	}
	out, err := sqsc.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(resource(t, queue).URL), Entries: entries})
	if err != nil || len(out.Failed) > 0 {
		t.Fatalf("send to %s: %v %+v", queue, err, out)
	}
}

func TestOrdersFromSQSComplete(t *testing.T) {
	needStack(t)
	t.Parallel()
	base := fmt.Sprintf("sqs-%d", time.Now().UnixNano())
	// i=6: a digital SKU (warranty runs); i=10: a LOW- SKU (reserve retried);
	// i=24: the declined card (review); i=0: a plain order.
	cases := map[int]string{0: base + "-plain", 6: base + "-digital", 10: base + "-shortage", 24: base + "-declined"}
	var bodies []string
	for i, id := range cases {
		bodies = append(bodies, string(sampleOrder(t, i, id)))
	}
	sendSQS(t, "OrdersQueue", bodies...)
	for i, id := range cases {
		head, events := settle(t, "order/"+id, 2*time.Minute)
		switch i {
		case 24:
			if head.Status != journal.StatusReview || count(events, journal.NeedsReview, "charge") != 1 {
				t.Errorf("%s: status %s, want review after the declined charge", id, head.Status)
			}
			continue
		case 6:
			if count(events, journal.StepSucceeded, "warranty") != 1 {
				t.Errorf("%s: warranty did not run for a digital SKU", id)
			}
		case 10:
			if count(events, journal.StepFailed, "reserve") != 1 || count(events, journal.RetryScheduled, "reserve") != 1 || count(events, journal.StepSucceeded, "reserve") != 1 {
				t.Errorf("%s: want reserve to fail once, be retried and succeed", id)
			}
		case 0:
			if count(events, journal.StepSkipped, "warranty") != 1 {
				t.Errorf("%s: warranty not skipped for a physical order", id)
			}
		}
		if head.Status != journal.StatusCompleted {
			t.Errorf("%s: status %s, want completed", id, head.Status)
		}
		for _, s := range []string{"verify", "fraud", "reserve", "charge", "ship", "history"} {
			if n := count(events, journal.StepSucceeded, s); n != 1 {
				t.Errorf("%s: step %s succeeded %d times, want 1", id, s, n)
			}
		}
		waitEffects(t, "order/"+id)
	}
	var runs []string
	for _, id := range cases {
		runs = append(runs, "order/"+id)
	}
	onePerAttempt(t, "happy path, 4 orders", runs...)
}

// TestLargeOrderOffloadedToS3 sends an order carrying about 120 KB of
// notes: the commits holding it are too large to keep in a DynamoDB item
// (over 64 KB after gzip), so the functions offload them to the payload
// bucket and read them back, and the order completes as any other.
func TestLargeOrderOffloadedToS3(t *testing.T) {
	needStack(t)
	t.Parallel()
	id := fmt.Sprintf("big-%d", time.Now().UnixNano())
	var o map[string]any
	if err := json.Unmarshal(sampleOrder(t, 0, id), &o); err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 90<<10)
	rand.Read(noise)
	o["notes"] = base64.StdEncoding.EncodeToString(noise) // ~120 KB, compresses to ~90 KB
	body, _ := json.Marshal(o)
	sendSQS(t, "OrdersQueue", string(body))

	head, events := settle(t, "order/"+id, 2*time.Minute)
	if head.Status != journal.StatusCompleted {
		t.Fatalf("status %s, want completed", head.Status)
	}
	var input map[string]any
	if err := json.Unmarshal(events[0].Input, &input); err != nil || input["notes"] != o["notes"] {
		t.Errorf("the run's input did not read back with its notes (%v)", err)
	}
	out, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &payloads, Prefix: aws.String("commits/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) == 0 {
		t.Errorf("no commit offloaded to s3://%s/commits/", payloads)
	}
}

// waitEffects waits until every effect of run has an outcome, and checks
// that all succeeded.
func waitEffects(t *testing.T, run string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, events, err := store.Load(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		want, done := 0, map[string]journal.Kind{}
		for _, e := range events {
			want += len(e.Effects)
			if e.Kind == journal.EffectSucceeded || e.Kind == journal.EffectFailed {
				done[e.EffectID] = e.Kind
			}
		}
		if want > 0 && len(done) == want {
			for id, k := range done {
				if k != journal.EffectSucceeded {
					t.Errorf("%s: effect %s %s", run, id, k)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d effects have an outcome after a minute", run, len(done), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestOrderFromKinesisCompletes(t *testing.T) {
	needStack(t)
	t.Parallel()
	id := fmt.Sprintf("kin-%d", time.Now().UnixNano())
	_, err := kin.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(resource(t, "OrdersStream").Name),
		Data: sampleOrder(t, 1, id), PartitionKey: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := settle(t, "order/"+id, 2*time.Minute)
	if head.Status != journal.StatusCompleted {
		t.Fatalf("status %s, want completed", head.Status)
	}
}

// TestDuplicateTriggersMakeOneRun sends one order message three times:
// one run, each step succeeded once, each attempt invoked once. Not
// parallel: it waits until every delivery has been handled (the queues
// drained) before it counts.
func TestDuplicateTriggersMakeOneRun(t *testing.T) {
	needStack(t)
	id := fmt.Sprintf("dup-%d", time.Now().UnixNano())
	body := string(sampleOrder(t, 2, id))
	sendSQS(t, "OrdersQueue", body, body, body)
	head, _ := settle(t, "order/"+id, 2*time.Minute)
	if head.Status != journal.StatusCompleted {
		t.Fatalf("status %s", head.Status)
	}
	quiesce(t, time.Minute)
	_, events, _ := store.Load(context.Background(), "order/"+id)
	if n := count(events, journal.RunStarted, ""); n != 1 {
		t.Fatalf("RunStarted %d times, want 1", n)
	}
	for _, s := range []string{"verify", "charge", "ship"} {
		if n := count(events, journal.StepSucceeded, s); n != 1 {
			t.Errorf("step %s succeeded %d times, want 1", s, n)
		}
	}
	onePerAttempt(t, "the same SQS order delivered 3 times", "order/"+id)
}

func TestMalformedMessageGoesToReviewAndBatchCompletes(t *testing.T) {
	needStack(t)
	t.Parallel()
	id := fmt.Sprintf("mal-%d", time.Now().UnixNano())
	sendSQS(t, "OrdersQueue", string(sampleOrder(t, 3, id+"-a")), `{"this is": not json`, string(sampleOrder(t, 4, id+"-b")))
	for _, run := range []string{"order/" + id + "-a", "order/" + id + "-b"} {
		if head, _ := settle(t, run, 2*time.Minute); head.Status != journal.StatusCompleted {
			t.Errorf("%s: %s, want completed", run, head.Status)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		items, _, err := store.Reviews(context.Background(), journal.ReviewQuery{Kind: journal.ReviewMalformedTrigger})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if strings.Contains(string(it.Payload), "this is") {
				if !strings.Contains(it.Reason, "not JSON") {
					t.Fatalf("malformed record's reason %q does not say what was wrong", it.Reason)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the malformed message was not recorded on the review path")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCallsPerStep measures the orchestrator's AWS API calls per step
// transition on the happy path, from the EMF lines its bootstrap logs
// (counted by an SDK middleware inside the real Lambda).
func TestCallsPerStep(t *testing.T) {
	needStack(t)
	// Not parallel: it reads the orchestrator's call totals for its own
	// orders, once earlier tests' deliveries are all handled.
	quiesce(t, time.Minute)
	before := totals()
	const n = 10
	base := fmt.Sprintf("cost-%d", time.Now().UnixNano())
	var bodies []string
	for i := range n {
		bodies = append(bodies, string(sampleOrder(t, i*7%5, fmt.Sprintf("%s-%d", base, i))))
	}
	sendSQS(t, "OrdersQueue", bodies...)
	steps := 0
	for i := range n {
		_, events := settle(t, fmt.Sprintf("order/%s-%d", base, i), 2*time.Minute)
		steps += count(events, journal.StepSucceeded, "")
	}
	quiesce(t, time.Minute)
	// The orchestrator logs its call counts as each invocation ends; the
	// last lines may still be on their way through the log pipe.
	var after map[string]int64
	for deadline := time.Now().Add(10 * time.Second); ; {
		after = totals()
		if after["Lambda.Invoke"]-before["Lambda.Invoke"] >= int64(steps) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	per := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			per[k] = float64(d) / float64(steps)
		}
	}
	t.Logf("orchestrator API calls per step transition (%d runs, %d steps): %v", n, steps, per)
	if per["Lambda.Invoke"] < 0.8 || per["Lambda.Invoke"] > 1.3 {
		t.Errorf("Lambda invokes per step = %.2f, want about 1", per["Lambda.Invoke"])
	}
}

// totals sums the orchestrator's EMF call counts logged so far.
func totals() map[string]int64 {
	sum := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
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
			if f, ok := v.(float64); ok && strings.Contains(k, ".") {
				sum[k] += int64(f)
			}
		}
	}
	return sum
}

// apiCaller is the IAM principal the tests call the API as.
const apiCaller = "arn:aws:sts::000000000000:assumed-role/ordo-api-operator/e2e"

// callAPI invokes the API function of role as its Function URL would (a
// LambdaFunctionURLRequest through the real Invoke API), signed as
// apiCaller (or anonymous when caller is "").
func callAPI(t *testing.T, role, caller, method, path, body string) (int, string) {
	t.Helper()
	fn := resource(t, "Api"+strings.ToUpper(role[:1])+role[1:]+"Function").Name
	rc := events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path}}
	if caller != "" {
		rc.Authorizer = &events.LambdaFunctionURLRequestContextAuthorizerDescription{
			IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{UserARN: caller}}
	}
	payload, _ := json.Marshal(events.LambdaFunctionURLRequest{RawPath: path, Body: body, RequestContext: rc,
		Headers: map[string]string{"content-type": "application/json"}})
	out, err := lambda.NewFromConfig(cfg).Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke %s %s %s: %v %s", role, method, path, err, out.Payload)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		t.Fatalf("%s %s: response %s: %v", method, path, out.Payload, err)
	}
	return resp.StatusCode, resp.Body
}

// TestRunsThroughTheAPIFunction: a run started through the operator's API
// function is journaled with the IAM caller, handed to the orchestrator
// through its queue, and completes; a bad request gets a clear 400; the
// run reads back through the viewer's API.
func TestRunsThroughTheAPIFunction(t *testing.T) {
	needStack(t)
	t.Parallel()
	id := fmt.Sprintf("api-%d", time.Now().UnixNano())
	body, _ := json.Marshal(map[string]any{"workflow": "order", "input": json.RawMessage(sampleOrder(t, 5, id))})
	if code, resp := callAPI(t, "operator", apiCaller, "POST", "/v1/runs", string(body)); code != 201 || !strings.Contains(resp, "order/"+id) {
		t.Fatalf("start: %d %s", code, resp)
	}
	head, events := settle(t, "order/"+id, 2*time.Minute)
	if head.Status != journal.StatusCompleted {
		t.Fatalf("run started through the API: %s, want completed", head.Status)
	}
	if events[0].Kind != journal.RunStarted || events[0].By != apiCaller {
		t.Fatalf("first event %s by %q, want RunStarted by %s", events[0].Kind, events[0].By, apiCaller)
	}
	onePerAttempt(t, "a run started through the API", "order/"+id)
	if code, resp := callAPI(t, "viewer", apiCaller, "GET", "/v1/runs/order/"+id, ""); code != 200 || !strings.Contains(resp, `"completed"`) {
		t.Fatalf("show: %d %s", code, resp)
	}
	if code, resp := callAPI(t, "operator", apiCaller, "POST", "/v1/runs", `{"input":{}}`); code != 400 || !strings.Contains(resp, "workflow") {
		t.Fatalf("bad start: %d %s, want 400 naming the missing workflow", code, resp)
	}
}

// TestAPIRolesAndPush: each API function serves its role only, and the
// admin's push is checked against the step Lambdas that exist.
func TestAPIRolesAndPush(t *testing.T) {
	needStack(t)
	t.Parallel()
	start := `{"workflow":"order","input":{}}`
	if code, resp := callAPI(t, "operator", "", "POST", "/v1/runs", start); code != 401 {
		t.Errorf("no IAM caller: %d %s, want 401", code, resp)
	}
	if code, resp := callAPI(t, "viewer", apiCaller, "POST", "/v1/runs", start); code != 403 || !strings.Contains(resp, "operator") {
		t.Errorf("start through the viewer URL: %d %s, want 403 naming the operator role", code, resp)
	}
	def := func(version, fn string) string {
		return `{"name":"e2epush","version":"` + version + `","key":"input.id","steps":[{"name":"check","function":"` + fn + `"}]}`
	}
	if code, resp := callAPI(t, "operator", apiCaller, "POST", "/v1/definitions", def("1", "order-verify")); code != 403 {
		t.Errorf("push through the operator URL: %d %s, want 403", code, resp)
	}
	for _, fn := range []string{"no-such-function", "orchestrator", "api-admin"} {
		code, resp := callAPI(t, "admin", apiCaller, "POST", "/v1/definitions", def("1", fn))
		if code != 400 || !strings.Contains(resp, "check") || !strings.Contains(resp, fn) {
			t.Errorf("push calling %s: %d %s, want 400 naming step and function", fn, code, resp)
		}
	}
	if code, resp := callAPI(t, "admin", apiCaller, "POST", "/v1/definitions", def("1", "order-verify")); code != 201 {
		t.Fatalf("push of a definition calling a deployed step: %d %s", code, resp)
	}
	events, err := store.ReadStream(context.Background(), orchestrator.AuditStream("e2epush"))
	if err != nil || len(events) == 0 {
		t.Fatalf("audit trail of e2epush: %d events, %v", len(events), err)
	}
	if last := events[len(events)-1]; last.Kind != journal.DefinitionPushed || last.By != apiCaller {
		t.Fatalf("audit event %s by %q, want DefinitionPushed by %s", last.Kind, last.By, apiCaller)
	}
}

// apiCall sends one request to the platform's admin API function (which
// may do everything) as its Function URL would, signed as apiCaller.
func apiCall(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	return callAPI(t, "admin", apiCaller, method, path, body)
}
