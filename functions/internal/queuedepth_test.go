package internal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
)

// fakeAttributes answers GetQueueAttributes from a table and counts calls.
type fakeAttributes struct {
	attrs map[string]map[string]string // url → attributes
	calls int
}

func (f *fakeAttributes) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	f.calls++
	a, ok := f.attrs[aws.ToString(in.QueueUrl)]
	if !ok {
		return nil, errors.New("AWS.SimpleQueueService.NonExistentQueue")
	}
	return &sqs.GetQueueAttributesOutput{Attributes: a}, nil
}

func decodeLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestQueueDepthsEMFRecord(t *testing.T) {
	f := &fakeAttributes{attrs: map[string]map[string]string{
		"u-orch": {"ApproximateNumberOfMessages": "12", "ApproximateNumberOfMessagesNotVisible": "3", "ApproximateNumberOfMessagesDelayed": "5"},
	}}
	q := NewQueueDepths(f, time.Minute, Queue{Name: "orchestrator", URL: "u-orch"}, Queue{Name: "unset-dlq"})
	now := time.UnixMilli(1_765_000_000_000)
	var buf bytes.Buffer
	if err := q.Sample(context.Background(), &buf, now); err != nil {
		t.Fatal(err)
	}
	got := decodeLines(t, buf.String())
	want := []map[string]any{{
		"Queue":                                 "orchestrator",
		"ApproximateNumberOfMessages":           float64(12),
		"ApproximateNumberOfMessagesNotVisible": float64(3),
		"ApproximateNumberOfMessagesDelayed":    float64(5),
		"_aws": map[string]any{"Timestamp": float64(1_765_000_000_000), "CloudWatchMetrics": []any{map[string]any{
			"Namespace": "ordo", "Dimensions": []any{[]any{"Queue"}},
			"Metrics": []any{
				map[string]any{"Name": "ApproximateNumberOfMessages", "Unit": "Count"},
				map[string]any{"Name": "ApproximateNumberOfMessagesNotVisible", "Unit": "Count"},
				map[string]any{"Name": "ApproximateNumberOfMessagesDelayed", "Unit": "Count"},
			}}}},
	}}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("EMF (-got +want):\n%s", d)
	}

	// Within the interval nothing is read or written; after it, again.
	buf.Reset()
	if err := q.Sample(context.Background(), &buf, now.Add(59*time.Second)); err != nil || buf.Len() != 0 || f.calls != 1 {
		t.Errorf("within the interval: %v, %q, %d calls; want nothing", err, buf.String(), f.calls)
	}
	if err := q.Sample(context.Background(), &buf, now.Add(time.Minute)); err != nil || f.calls != 2 || buf.Len() == 0 {
		t.Errorf("after the interval: %v, %d calls; want a new sample", err, f.calls)
	}
}

func TestQueueDepthsNameTheQueueThatFailed(t *testing.T) {
	f := &fakeAttributes{attrs: map[string]map[string]string{
		"u-ok":  {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0"},
		"u-bad": {"ApproximateNumberOfMessages": "lots"},
	}}
	q := NewQueueDepths(f, time.Minute, Queue{Name: "gone", URL: "u-gone"}, Queue{Name: "bad", URL: "u-bad"}, Queue{Name: "ok", URL: "u-ok"})
	var buf bytes.Buffer
	err := q.Sample(context.Background(), &buf, time.Now())
	for _, want := range []string{"queue depth of gone (u-gone): AWS.SimpleQueueService.NonExistentQueue", `queue depth of bad: attribute ApproximateNumberOfMessages: "lots" is not a count`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v; want it to say %q", err, want)
		}
	}
	if lines := decodeLines(t, buf.String()); len(lines) != 1 || lines[0]["Queue"] != "ok" {
		t.Errorf("lines %v; want the readable queue's only", lines)
	}
}

// TestQueueDepthsOnKumo reads real attributes through the SDK: a queue
// with visible, in-flight and delayed messages.
func TestQueueDepthsOnKumo(t *testing.T) {
	cfg := kumoConfig(t)
	ctx := context.Background()
	c := sqs.NewFromConfig(cfg)
	name := "ordo-depth-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	created, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	t.Cleanup(func() { c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}) })
	for i, delay := range []int32{0, 0, 0, 300} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"n":` + string(rune('0'+i)) + `}`), DelaySeconds: delay}); err != nil {
			t.Fatal(err)
		}
	}
	// One message in flight.
	if out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1, VisibilityTimeout: 300}); err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %v", out, err)
	}
	q := NewQueueDepths(c, time.Minute, Queue{Name: "orchestrator", URL: url})
	var buf bytes.Buffer
	if err := q.Sample(ctx, &buf, time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := decodeLines(t, buf.String())
	if len(lines) != 1 {
		t.Fatalf("lines %v; want one", lines)
	}
	got := map[string]any{}
	for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} {
		got[k] = lines[0][k]
	}
	want := map[string]any{"ApproximateNumberOfMessages": float64(2), "ApproximateNumberOfMessagesNotVisible": float64(1), "ApproximateNumberOfMessagesDelayed": float64(1)}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("depths on kumo (-got +want):\n%s", d)
	}
}
