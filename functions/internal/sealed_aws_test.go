package internal_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
	"github.com/ordoflow/ordo/workflows/order"
)

// sealedCard is a Luhn-valid card no sample uses.
const sealedCard = "4111111111111111"

// syncBuffer is a log sink for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// TestSealedOnDynamoDBAndS3 runs OMS orders paying with a known card
// through the Lambdas' wiring (orchestrator and effects handlers, the real
// SDK clients) with the journal on DynamoDB Local, commits offloaded to
// S3 (kumo), and sensitive values sealed with KMS data keys (kumo). Then
// it reads every DynamoDB item (Scan) and every S3 object, gunzipped, and
// the logs: the card is in none of them, and the charge step got it.
func TestSealedOnDynamoDBAndS3(t *testing.T) {
	c := dynamotest.Client(t)
	s3c, bucket := dynamotest.S3(t)
	table := dynamotest.Table(t, c)
	// Offload the larger commits, so that both DynamoDB and S3 hold sealed values.
	store := dynamojournal.New(c, table, dynamojournal.WithS3(s3c, bucket), dynamojournal.WithOffloadAbove(1200), dynamojournal.WithCompressAbove(1<<20))
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	kc := kms.NewFromConfig(cfg)
	key, err := kc.CreateKey(t.Context(), &kms.CreateKeyInput{Description: aws.String("ordo sealed test")})
	if err != nil {
		if os.Getenv("ORDO_REQUIRE_STACK") == "" {
			t.Skipf("KMS on the local stack: %v", err)
		}
		t.Fatal(err)
	}
	sealer := internal.NewKMSSealer(kc, aws.ToString(key.KeyMetadata.KeyId))

	reg := step.NewRegistry()
	workflows.Register(reg)
	var mu sync.Mutex
	var charged []string
	base, _ := reg.Lookup(order.FnCharge)
	wrapped := step.NewRegistry()
	for _, n := range reg.Names() {
		h, _ := reg.Lookup(n)
		if n == order.FnCharge {
			h = step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
				mu.Lock()
				charged = append(charged, string(req.Input))
				mu.Unlock()
				return base.Handle(ctx, req)
			})
		}
		wrapped.Register(n, h)
	}
	var logs syncBuffer
	var emails syncBuffer
	s, err := lambdatest.Start(lambdatest.Config{Store: store, Registry: wrapped, Sealer: sealer,
		Setup: func(ctx context.Context, e *orchestrator.Engine) error {
			_, err := workflows.Setup(ctx, e)
			return err
		},
		Effects: map[string]effect.Handler{"email": effect.HandlerFunc(func(_ context.Context, run string, e journal.Effect) error {
			_, _ = emails.Write(e.Payload)
			return nil
		})},
		Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	want := map[string]journal.Status{}
	for i, card := range []string{sealedCard, sealedCard, order.CardDeclined} {
		var o map[string]any
		_ = json.Unmarshal(workflows.SampleOrder(200+i), &o)
		o["payment"].(map[string]any)["cardNumber"] = card
		body, _ := json.Marshal(o)
		if err := s.Send(ctx, lambdatest.OrdersQueue, string(body)); err != nil {
			t.Fatal(err)
		}
		st := journal.StatusCompleted
		if card == order.CardDeclined {
			st = journal.StatusReview
		}
		want["order/"+o["orderId"].(string)] = st
	}
	for run, st := range want {
		for {
			head, _, err := store.Load(ctx, run)
			if err == nil && head.Status == st {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("run %s: %s (%v), want %s", run, head.Status, err, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	mu.Lock()
	got := charged
	mu.Unlock()
	if len(got) == 0 || !bytes.Contains([]byte(got[0]), []byte(sealedCard)) && !bytes.Contains([]byte(got[0]), []byte(order.CardDeclined)) {
		t.Fatalf("the charge step got %q, want the card in clear", got)
	}

	places := map[string][]byte{"logs": logs.Bytes(), "email payloads": emails.Bytes()}
	// Every DynamoDB item, its binary attributes gunzipped.
	var items bytes.Buffer
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			n++
			b, _ := json.Marshal(it)
			items.Write(b)
		}
		for _, it := range page.Items {
			for _, raw := range binaries(it) {
				items.Write(gunzip(raw))
			}
		}
	}
	places["DynamoDB items"] = items.Bytes()
	// Every S3 object.
	var objects bytes.Buffer
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		objects.Write(gunzip(b))
	}
	places["S3 objects"] = objects.Bytes()
	if n == 0 || len(list.Contents) == 0 {
		t.Fatalf("%d items, %d S3 objects: nothing journaled?", n, len(list.Contents))
	}
	for where, b := range places {
		for _, card := range []string{sealedCard, order.CardDeclined} {
			if bytes.Contains(b, []byte(card)) {
				t.Errorf("%s hold the clear card %s", where, card)
			}
		}
	}
	if !bytes.Contains(places["S3 objects"], []byte(`$ordo.enc`)) && !bytes.Contains(places["DynamoDB items"], []byte(`$ordo.enc`)) {
		t.Error("no envelope journaled")
	}
}

// binaries are the binary attribute values of a DynamoDB item.
func binaries(item map[string]ddbtypes.AttributeValue) [][]byte {
	var out [][]byte
	for _, v := range item {
		if b, ok := v.(*ddbtypes.AttributeValueMemberB); ok {
			out = append(out, b.Value)
		}
	}
	return out
}

// gunzip returns b, and after it its gunzipped form when it is gzip.
func gunzip(b []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return b
	}
	return append(append(bytes.Clone(b), '\n'), plain...)
}
