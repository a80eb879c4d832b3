package internal

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
)

func TestCallCounterCountsRealSDKCalls(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{"MessageId":"1","MD5OfMessageBody":"x"}`))
	}))
	defer srv.Close()
	c := NewCallCounter()
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(srv.URL),
		APIOptions: nil}
	cfg.APIOptions = append(cfg.APIOptions, c.Middleware)
	client := sqs.NewFromConfig(cfg)
	for range 3 {
		client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(srv.URL + "/q"), MessageBody: aws.String("x")})
	}
	got := c.Take()
	if got["SQS.SendMessage"] != 3 || len(got) != 1 {
		t.Fatalf("counts = %v, want SQS.SendMessage: 3", got)
	}
	if again := c.Take(); len(again) != 0 {
		t.Fatalf("Take did not reset: %v", again)
	}
	var buf bytes.Buffer
	if err := WriteEMF(&buf, "orchestrator", got, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["SQS.SendMessage"] != float64(3) || line[MetricsLine] != true || line["_aws"] == nil {
		t.Fatalf("EMF line %s (%v)", buf.String(), err)
	}
}

// TestCallCounterSumsConsumedCapacity: on DynamoDB Local, the counter
// reports the write units DynamoDB consumed, indexes included: a run's
// first commit (the commit, its head and the head's byStatus entry) costs
// more units than calls.
func TestCallCounterSumsConsumedCapacity(t *testing.T) {
	c := NewCallCounter()
	client := dynamotest.Client(t, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, c.Middleware) })
	s := dynamojournal.New(client, dynamotest.Table(t, client))
	ctx := context.Background()
	start := func(run string) journal.Commit {
		return journal.Commit{Run: run, Workflow: "w", DefHash: "sha256:w", Events: []journal.Event{{Kind: journal.RunStarted,
			At: time.Unix(0, 0), Workflow: "w", DefHash: "sha256:w", Input: []byte(`{}`)}}}
	}
	// The Store's first head write records its shard count: not measured.
	if _, err := s.Append(ctx, start("w/warm")); err != nil {
		t.Fatal(err)
	}
	c.Take()
	if _, err := s.Append(ctx, start("w/r1")); err != nil {
		t.Fatal(err)
	}
	got := c.Take()
	if got["DynamoDB.PutItem"] != 1 || got["DynamoDB.UpdateItem"] != 1 || got[WriteUnits] != 3 {
		t.Fatalf("first commit: %v, want 1 PutItem and 1 UpdateItem consuming 3 write units (commit, head, byStatus entry)", got)
	}
	if _, _, err := s.Load(ctx, "w/r1"); err != nil {
		t.Fatal(err)
	}
	if got := c.Take(); got[ReadUnits] <= 0 || got[WriteUnits] != 0 {
		t.Fatalf("load: %v, want read units only", got)
	}
}
