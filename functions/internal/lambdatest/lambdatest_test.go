package lambdatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func client(q *Queues, faults *Faults) *sqs.Client {
	var opts []func(*middleware.Stack) error
	if faults != nil {
		opts = append(opts, faults.APIOption)
	}
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(q.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), APIOptions: opts,
		DisableMessageChecksumValidation: true,
		Retryer:                          retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 2 }),
	})
}

// TestQueuesDuplicateAndReorder: through the real SDK client, every message
// is delivered 1 to Copies times, the copies sharing its id, not in the
// order sent; one not acknowledged comes back after the visibility timeout.
func TestQueuesDuplicateAndReorder(t *testing.T) {
	q := NewQueues(7)
	defer q.Close()
	q.Copies, q.Visibility = 3, 50*time.Millisecond
	c := client(q, nil)
	const n = 50
	for i := range n {
		_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL("q")),
			MessageBody: aws.String(fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
	}
	deliveries := map[string]int{}
	var order []string
	deadline := time.Now().Add(5 * time.Second)
	for q.Pending("q") > 0 && time.Now().Before(deadline) {
		d, ok := q.Receive("q", 10)
		if !ok {
			time.Sleep(2 * time.Millisecond) // copies become visible with a little jitter
			continue
		}
		for _, r := range d.Event.Records {
			deliveries[r.MessageId]++
			order = append(order, r.Body)
		}
		q.Settle(d, nil, false)
	}
	if len(deliveries) != n {
		t.Fatalf("%d messages delivered, want %d", len(deliveries), n)
	}
	dups := 0
	for id, k := range deliveries {
		if k < 1 || k > 3 {
			t.Errorf("message %s delivered %d times, want 1-3", id, k)
		}
		dups += k - 1
	}
	if st := q.Stats(); st.Duplicates != dups || st.Sent != n || dups == 0 {
		t.Errorf("stats %+v, counted %d duplicates (want some)", st, dups)
	}
	inOrder := true
	for i := 1; i < len(order) && inOrder; i++ {
		var a, b int
		fmt.Sscan(order[i-1], &a)
		fmt.Sscan(order[i], &b)
		inOrder = a <= b
	}
	if inOrder {
		t.Error("deliveries came in the order sent")
	}

	q.Copies = 1
	q.Send("q", "again", nil, 0)
	d, ok := receive(q, time.Second)
	if !ok {
		t.Fatal("nothing to receive")
	}
	q.Settle(d, map[string]bool{d.Event.Records[0].MessageId: true}, false)
	if _, ok := q.Receive("q", 1); ok {
		t.Fatal("a failed message came back before its visibility timeout")
	}
	d, ok = receive(q, 5*time.Second)
	if !ok {
		t.Fatal("the failed message never came back")
	}
	if got := d.Event.Records[0].Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Errorf("receive count %s, want 2", got)
	}
}

// receive polls queue "q" for one message for up to d.
func receive(q *Queues, d time.Duration) (Delivery, bool) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if del, ok := q.Receive("q", 1); ok {
			return del, true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return Delivery{}, false
}

// TestFaultsMiddleware: an injected SQS failure reaches the caller once the
// SDK's retries are spent and is counted; a crashed process's calls fail
// before they are sent.
func TestFaultsMiddleware(t *testing.T) {
	q := NewQueues(1)
	defer q.Close()
	f := NewFaults(1, map[Kind]float64{SQSSendFailure: 1})
	c := client(q, f)
	_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL("q")), MessageBody: aws.String("x")})
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
		t.Fatalf("send = %v, want the injected 503", err)
	}
	if got := f.Counts()[SQSSendFailure]; got != 2 {
		t.Errorf("%d failures injected, want 2 (one per SDK attempt)", got)
	}
	if q.Stats().Sent != 0 {
		t.Error("a failed send reached the queue")
	}

	ok := NewFaults(1, nil)
	ctx, p := WithProcess(context.Background())
	p.dead.Store(true)
	_, err = client(q, ok).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL("q")), MessageBody: aws.String("x")})
	if !errors.Is(err, ErrCrashed) {
		t.Fatalf("send from a crashed process = %v, want ErrCrashed", err)
	}
	if q.Stats().Sent != 0 {
		t.Error("a crashed process's send reached the queue")
	}
}
