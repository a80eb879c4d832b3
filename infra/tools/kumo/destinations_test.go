package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"
)

// runtime plays a function's runtime against kumo's Runtime API: each
// invocation's answer is handle's, or an error when handle says so.
func runtime(ctx context.Context, base, fn string, handle func([]byte) ([]byte, bool)) {
	api := base + "/_runtime/" + fn + "/2018-06-01/runtime/invocation/"
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"next", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		payload, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		if id == "" {
			continue
		}
		out, failed := handle(payload)
		what := "/response"
		if failed {
			what = "/error"
		}
		if r, err := http.Post(api+id+what, "application/json", bytes.NewReader(out)); err == nil {
			r.Body.Close()
		}
	}
}

// TestEventInvokeDestinations: through the real SDK clients, a function
// with an EventInvokeConfig invoked with InvocationType Event answers 202,
// runs, and its outcome arrives on the OnSuccess (or, once its retries are
// spent, OnFailure) queue as Lambda's destination record; the config reads
// back; a function without one is left to kumo.
func TestEventInvokeDestinations(t *testing.T) {
	srv := kumo.NewServer()
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	sq := sqs.New(sqs.Options{Region: region, BaseEndpoint: aws.String(srv.URL), Credentials: creds})
	d := newDestinations(httputil.NewSingleHostReverseProxy(target), srv.URL, sq)
	d.backoff = 10 * time.Millisecond
	front := httptest.NewServer(d)
	defer front.Close()
	lc := lambda.New(lambda.Options{Region: region, BaseEndpoint: aws.String(front.URL), Credentials: creds})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	queue := func(name string) string {
		out, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueueUrl)
	}
	okURL, failURL := queue("done"), queue("failed")
	for _, fn := range []string{"echo", "boom"} {
		_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(fn), Runtime: lambdatypes.RuntimeProvidedal2023,
			Role: aws.String("arn:aws:iam::000000000000:role/r"), Handler: aws.String("bootstrap"),
			Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK\x05\x06" + string(make([]byte, 18)))}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(fn),
			MaximumRetryAttempts: aws.Int32(1), DestinationConfig: &lambdatypes.DestinationConfig{
				OnSuccess: &lambdatypes.OnSuccess{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:done")},
				OnFailure: &lambdatypes.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:failed")}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	go runtime(ctx, srv.URL, "echo", func(p []byte) ([]byte, bool) { return []byte(`{"output":` + string(p) + `}`), false })
	go runtime(ctx, srv.URL, "boom", func([]byte) ([]byte, bool) {
		return []byte(`{"errorMessage":"boom","errorType":"Error"}`), true
	})

	got, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("echo")})
	if err != nil || aws.ToInt32(got.MaximumRetryAttempts) != 1 || aws.ToString(got.DestinationConfig.OnSuccess.Destination) == "" {
		t.Fatalf("GetFunctionEventInvokeConfig = %+v, %v", got, err)
	}
	for _, fn := range []string{"echo", "boom"} {
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeEvent,
			Payload: []byte(`{"run":"r-1","attempt":3}`)})
		if err != nil || out.StatusCode != http.StatusAccepted {
			t.Fatalf("Event invoke of %s: %+v, %v; want 202", fn, out, err)
		}
	}
	receive := func(url string) record {
		t.Helper()
		for ctx.Err() == nil {
			out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) > 0 {
				var rec record
				if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &rec); err != nil {
					t.Fatalf("record %s: %v", aws.ToString(out.Messages[0].Body), err)
				}
				return rec
			}
		}
		t.Fatal("no destination record")
		return record{}
	}
	ok := receive(okURL)
	if ok.Version != "1.0" || ok.RequestContext.Condition != "Success" || ok.RequestContext.ApproximateInvokeCount != 1 ||
		string(ok.RequestPayload) != `{"run":"r-1","attempt":3}` || string(ok.ResponsePayload) != `{"output":{"run":"r-1","attempt":3}}` ||
		ok.ResponseContext.StatusCode != 200 || ok.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST" {
		t.Fatalf("success record %+v", ok)
	}
	if _, err := time.Parse(time.RFC3339, ok.Timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", ok.Timestamp, err)
	}
	failed := receive(failURL)
	if failed.RequestContext.Condition != "RetriesExhausted" || failed.ResponseContext.FunctionError != "Unhandled" ||
		failed.RequestContext.ApproximateInvokeCount != 2 || !bytes.Contains(failed.ResponsePayload, []byte("boom")) {
		t.Fatalf("failure record %+v, want RetriesExhausted after 2 invocations (1 retry)", failed)
	}
	cancel()
	d.wait()
}
