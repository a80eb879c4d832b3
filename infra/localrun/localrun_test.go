package localrun

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestParseTemplate(t *testing.T) {
	tm, err := ParseTemplate("testdata/template.yaml", map[string]string{"Mode": "override"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Tables) != 1 || len(tm.Queues) != 2 || len(tm.Streams) != 1 || len(tm.Buckets) != 1 || len(tm.Functions) != 2 {
		t.Fatalf("got %d tables, %d queues, %d streams, %d buckets, %d functions",
			len(tm.Tables), len(tm.Queues), len(tm.Streams), len(tm.Buckets), len(tm.Functions))
	}
	sqsFn := tm.Functions[0]
	if sqsFn.LogicalID != "SQSHandler" || sqsFn.CodeURI != "fn/" || sqsFn.BuildMethod != "go1.x" || sqsFn.Timeout != 10 {
		t.Errorf("SQSHandler = %+v", sqsFn)
	}
	wantEnv := map[string]string{
		"TABLE_NAME":  "{{ordo:Ref:Table}}", // from Globals
		"MODE":        "override",           // parameter override
		"QUEUE_URL":   "{{ordo:Ref:Work}}",
		"QUEUE_ARN":   "{{ordo:GetAtt:Work.Arn}}",
		"DLQ_URL":     "{{ordo:GetAtt:DeadLetters.QueueUrl}}",
		"STREAM_NAME": "{{ordo:Ref:Events}}",
		"BUCKET":      "{{ordo:Ref:Payloads}}",
		"GREETING":    "hello from {{ordo:Ref:AWS::StackName}} in {{ordo:Ref:AWS::Region}} via {{ordo:Ref:Events}}",
	}
	for k, v := range wantEnv {
		if sqsFn.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, sqsFn.Env[k], v)
		}
	}
	if len(sqsFn.Events) != 1 {
		t.Fatalf("SQSHandler events = %+v", sqsFn.Events)
	}
	if e := sqsFn.Events[0]; e.Type != "SQS" || e.Source != "{{ordo:GetAtt:Work.Arn}}" || e.BatchSize != 10 || !e.ReportBatchItemFailures {
		t.Errorf("SQS event = %+v", e)
	}
	kin := tm.Functions[1].Events
	if len(kin) != 1 || kin[0].Type != "Kinesis" || kin[0].StartingPosition != "TRIM_HORIZON" || kin[0].MaximumRetryAttempts != 5 || !kin[0].ReportBatchItemFailures {
		t.Errorf("Kinesis events = %+v", kin)
	}
	if rp, ok := tm.Queues["Work"].RedrivePolicy.(map[string]interface{}); !ok || rp["deadLetterTargetArn"] != "{{ordo:GetAtt:DeadLetters.Arn}}" {
		t.Errorf("Work RedrivePolicy = %#v", tm.Queues["Work"].RedrivePolicy)
	}
	r := resolver{"Ref:Work": "u", "GetAtt:Work.Arn": "a"}
	if got, err := r.resolve("{{ordo:Ref:Work}} {{ordo:GetAtt:Work.Arn}}"); err != nil || got != "u a" {
		t.Errorf("resolve = %q, %v", got, err)
	}
	if _, err := r.resolve("{{ordo:Ref:Nope}}"); err == nil {
		t.Error("resolve of an unknown resource: want error")
	}
}

// stackConfig returns the SDK config for the local stack, or skips the test
// when the emulators are not configured and answering.
func stackConfig(t *testing.T) aws.Config {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
		skip = t.Fatalf // CI starts the stack: its absence is a failure
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"} {
		v := os.Getenv(k)
		if v == "" {
			skip("%s not set: start the local stack (infra/install.sh && infra/start.sh && . infra/env.sh)", k)
		}
		u, err := url.Parse(v)
		if err != nil {
			skip("%s=%q: %v", k, v, err)
		}
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			skip("%s=%s not answering (%v): start the local stack with infra/start.sh", k, v, err)
		}
		c.Close()
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// syncBuffer is a goroutine-safe log sink that also echoes to the test log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUpEndToEnd(t *testing.T) {
	cfg := stackConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logs := &syncBuffer{}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	q := sqs.NewFromConfig(cfg)
	kin := kinesis.NewFromConfig(cfg)
	s3c := newS3(cfg)
	stackName := fmt.Sprintf("lrtest%d", time.Now().UnixNano()%1e9)
	stateFile := t.TempDir() + "/state.json"
	st, err := Up(ctx, Options{Template: "testdata/template.yaml", StackName: stackName, Log: logs, Config: &cfg, SQSWaitSeconds: 1, StateFile: stateFile})
	if err != nil {
		t.Fatalf("Up: %v\n%s", err, logs)
	}
	defer func() {
		if err := st.Down(context.Background()); err != nil {
			t.Errorf("Down: %v", err)
		}
		if _, err := os.Stat(stateFile); !os.IsNotExist(err) {
			t.Errorf("state file left after Down: %v", err)
		}
		if _, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(st.Resource("Table").Name)}); err == nil {
			t.Errorf("table still exists after Down")
		}
		if _, err := s3c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(st.Resource("Payloads").Name)}); err == nil {
			t.Errorf("bucket still exists after Down")
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("stack log:\n%s", logs)
		}
	}()

	if saved, err := ReadState(stateFile); err != nil || saved.RunnerPID != os.Getpid() || len(saved.Resources) != 7 || len(saved.Processes) != 2 {
		t.Errorf("ReadState = %+v, %v", saved, err)
	}
	table, work, dlq, stream := st.Resource("Table"), st.Resource("Work"), st.Resource("DeadLetters"), st.Resource("Events")
	if table == nil || work == nil || dlq == nil || stream == nil {
		t.Fatalf("resources: %+v", st.Status().Resources)
	}
	if table.Name != stackName+"-Table" || !strings.Contains(work.URL, stackName+"-Work") || !strings.HasPrefix(work.ARN, "arn:aws:sqs:") {
		t.Errorf("names: table %+v queue %+v", table, work)
	}
	// The bucket exists, named in lower case as S3 requires; Down empties
	// and deletes it.
	bucket := st.Resource("Payloads")
	if bucket == nil || bucket.Name != stackName+"-payloads" || bucket.ARN != "arn:aws:s3:::"+bucket.Name {
		t.Fatalf("bucket: %+v", bucket)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket.Name), Key: aws.String("commits/x"),
		Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("put into the stack's bucket: %v", err)
	}

	// count returns how often the function saw key, and the greeting it stored.
	count := func(key string) (int, string) {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table.Name), ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: key}}})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		n, g := 0, ""
		if v, ok := out.Item["n"].(*ddbtypes.AttributeValueMemberN); ok {
			n, _ = strconv.Atoi(v.Value)
		}
		if v, ok := out.Item["greeting"].(*ddbtypes.AttributeValueMemberS); ok {
			g = v.Value
		}
		return n, g
	}
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !cond(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s; status: %+v", d, what, st.Status())
			}
		}
	}
	send := func(body string) {
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(work.URL), MessageBody: aws.String(body)}); err != nil {
			t.Fatalf("send %s: %v", body, err)
		}
	}

	t.Run("SQSPartialBatchFailure", func(t *testing.T) {
		_, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(work.URL), Entries: []sqstypes.SendMessageBatchRequestEntry{
			{Id: aws.String("1"), MessageBody: aws.String("ok-1")},
			{Id: aws.String("2"), MessageBody: aws.String("fail-1")},
			{Id: aws.String("3"), MessageBody: aws.String("ok-2")},
		}})
		if err != nil {
			t.Fatal(err)
		}
		// The failed message is redelivered after the 4 s visibility
		// timeout, then moved to the DLQ (maxReceiveCount 2).
		waitFor("fail-1 in the DLQ", 30*time.Second, func() bool {
			out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq.URL), WaitTimeSeconds: 1})
			return err == nil && len(out.Messages) == 1 && aws.ToString(out.Messages[0].Body) == "fail-1"
		})
		if n, _ := count("fail-1"); n != 2 {
			t.Errorf("fail-1 seen %d times, want 2 (redelivered once, then DLQ)", n)
		}
		for _, k := range []string{"ok-1", "ok-2"} {
			if n, g := count(k); n != 1 {
				t.Errorf("%s seen %d times, want exactly 1 (deleted after success)", k, n)
			} else if want := "hello from " + stackName + " in " + cfg.Region + " via " + stream.Name + "|test"; g != want {
				t.Errorf("greeting = %q, want %q", g, want)
			}
		}
	})

	t.Run("KinesisRecord", func(t *testing.T) {
		for _, d := range []string{"k-1", "fail-k", "k-2"} {
			if _, err := kin.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream.Name), PartitionKey: aws.String("p"), Data: []byte(d)}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor("k-2 processed", 30*time.Second, func() bool { n, _ := count("kinesis#k-2"); return n >= 1 })
		// fail-k failed once; the poller resumed from it, so k-1 was not
		// replayed and fail-k and k-2 were seen again.
		if n, _ := count("kinesis#k-1"); n != 1 {
			t.Errorf("k-1 seen %d times, want 1", n)
		}
		if n, _ := count("kinesis#fail-k"); n != 2 {
			t.Errorf("fail-k seen %d times, want 2", n)
		}
	})

	t.Run("PanicRestartsBootstrap", func(t *testing.T) {
		restarts := func() int {
			for _, p := range st.Status().Processes {
				if p.Function == "SQSHandler" {
					return p.Restarts
				}
			}
			return -1
		}
		before := restarts()
		send("panic-1")
		waitFor("panic-1 handled after a restart", 30*time.Second, func() bool { n, _ := count("panic-1"); return n >= 2 })
		if restarts() <= before {
			t.Errorf("restarts = %d, want > %d", restarts(), before)
		}
		send("ok-after-panic")
		waitFor("ok-after-panic handled", 15*time.Second, func() bool { n, _ := count("ok-after-panic"); return n == 1 })
	})
}

// TestParseNodeFunction reads a team template's Node function: its handler
// and runtime, and its name from the PlatformStack parameter.
func TestParseNodeFunction(t *testing.T) {
	tm, err := ParseTemplate("../../test/e2e/testdata/nodestep/template.yaml", map[string]string{"PlatformStack": "plat"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Functions) != 2 {
		t.Fatalf("%d functions, want 2 (js-greet, js-slow)", len(tm.Functions))
	}
	f := tm.Functions[0]
	for _, g := range tm.Functions {
		if g.LogicalID == "GreetFunction" {
			f = g
		}
	}
	if !f.IsNode() || f.Handler != "index.handler" || handler(f) != "index.handler" || f.CodeURI != "./" {
		t.Fatalf("function %+v", f)
	}
	if got, err := (resolver{}).resolve(f.Name); err != nil || got != "plat-js-greet" {
		t.Fatalf("name %q (%v), want plat-js-greet", got, err)
	}
	dir := t.TempDir()
	bad := dir + "/t.yaml"
	os.WriteFile(bad, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: nodejs20.x\n      Handler: bootstrap\n      CodeUri: ./\n"), 0o644)
	if _, err := ParseTemplate(bad, nil); err == nil || !strings.Contains(err.Error(), "index.handler") {
		t.Fatalf("a Node function without FILE.EXPORT handler: %v", err)
	}
}
