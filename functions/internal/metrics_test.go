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
	"github.com/aws/aws-sdk-go-v2/service/sqs"
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
