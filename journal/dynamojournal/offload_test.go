package dynamojournal_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/journal/journaltest"
)

// TestConformanceOffload runs the suite with a bucket and a threshold so
// low that every large commit of the suite goes through S3.
func TestConformanceOffload(t *testing.T) {
	newClient(t)
	s3c, bucket := dynamotest.S3(t)
	journaltest.Run(t, func(t *testing.T) journal.Store {
		s, _, _ := newStore(t, dynamojournal.WithS3(s3c, bucket), dynamojournal.WithOffloadAbove(2<<10))
		return s
	})
}

// TestSnapshotsOffload runs the snapshot suite with a bucket and a low
// threshold: large snapshots and parts go through S3.
func TestSnapshotsOffload(t *testing.T) {
	newClient(t)
	s3c, bucket := dynamotest.S3(t)
	journaltest.RunSnapshots(t, func(t *testing.T) journaltest.WithSnapshots {
		s, _, _ := newStore(t, dynamojournal.WithS3(s3c, bucket), dynamojournal.WithOffloadAbove(2<<10))
		return s
	})
}

// rawCommit reads a commit item as stored.
func rawCommit(t *testing.T, db *dynamodb.Client, table, run, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "RUN#" + run},
			"sk": &types.AttributeValueMemberS{Value: sk},
		}})
	if err != nil || out.Item == nil {
		t.Fatalf("get %s %s: %v", run, sk, err)
	}
	return out.Item
}

// TestOffloadPastItemLimit appends a commit whose item would be just over
// DynamoDB's limit, with and without a bucket: with one, its events go to
// S3 under their hash and read back exactly; without, the append fails with
// a TooLargeError naming the run, the steps, the size and the limit.
func TestOffloadPastItemLimit(t *testing.T) {
	t.Parallel()
	s3c, bucket := dynamotest.S3(t)
	// Uncompressed, the item is the encoded events plus a fixed overhead:
	// learn the overhead from the Store's error, then size the commit so
	// that its item is one byte over the limit.
	noCompression := dynamojournal.WithCompressAbove(1 << 30)
	probe, _, _ := newStore(t, noCompression)
	mustAppend(t, probe, startCommit("run-o"))
	c, err := journaltest.Sized(stepCommit("run-o", 1, `{}`), dynamojournal.MaxItemSize, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = probe.Append(t.Context(), c)
	var tl *journal.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("probe: got %v, want a TooLargeError", err)
	}
	overhead := tl.Size - dynamojournal.MaxItemSize
	if c, err = journaltest.Sized(stepCommit("run-o", 1, `{}`), dynamojournal.MaxItemSize+1-overhead, ""); err != nil {
		t.Fatal(err)
	}

	t.Run("no bucket", func(t *testing.T) {
		t.Parallel()
		s, _, _ := newStore(t, noCompression)
		mustAppend(t, s, startCommit("run-o"))
		_, err := s.Append(t.Context(), c)
		var tl *journal.TooLargeError
		if !errors.As(err, &tl) || !errors.Is(err, journal.ErrTooLarge) {
			t.Fatalf("got %v, want a TooLargeError", err)
		}
		if tl.Run != "run-o" || tl.Seq != 2 || !cmp.Equal(tl.Steps, []string{"charge", "ship", "big"}) ||
			tl.Limit != dynamojournal.MaxItemSize || tl.Size != tl.Limit+1 {
			t.Errorf("error fields: %+v", *tl)
		}
		if !strings.Contains(err.Error(), "run-o") || !strings.Contains(err.Error(), "S3") {
			t.Errorf("error %q does not name the run and the way out", err)
		}
	})
	t.Run("bucket", func(t *testing.T) {
		t.Parallel()
		s, db, table := newStore(t, noCompression, dynamojournal.WithS3(s3c, bucket))
		mustAppend(t, s, startCommit("run-o"))
		mustAppend(t, s, c)
		item := rawCommit(t, db, table, "run-o", "0000000000000000002")
		key, _ := item["blob"].(*types.AttributeValueMemberS)
		if key == nil || item["ev"] != nil || !strings.HasPrefix(key.Value, "commits/") {
			t.Fatalf("commit item: want a blob key and no events, got attributes %v", keys(item))
		}
		obj, err := s3c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: &key.Value})
		if err != nil {
			t.Fatalf("the offloaded object: %v", err)
		}
		obj.Body.Close()

		for _, r := range []*dynamojournal.Store{s, dynamojournal.New(db, table, dynamojournal.WithS3(s3c, bucket))} {
			_, events, err := r.Load(t.Context(), "run-o")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(events[1:], withSeq(2, c.Events)); diff != "" {
				t.Errorf("loaded events (-got +want):\n%s", diff)
			}
			since, err := r.Since(t.Context(), "run-o", 1)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(since, withSeq(2, c.Events)); diff != "" {
				t.Errorf("events since 1 (-got +want):\n%s", diff)
			}
		}

		// A Store without the bucket says where the events are.
		_, _, err = dynamojournal.New(db, table).Load(t.Context(), "run-o")
		if err == nil || !strings.Contains(err.Error(), key.Value) {
			t.Errorf("load without a bucket: got %v, want an error naming %s", err, key.Value)
		}
		// An object that does not match its key is refused.
		if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: &key.Value,
			Body: bytes.NewReader([]byte("tampered"))}); err != nil {
			t.Fatal(err)
		}
		_, _, err = dynamojournal.New(db, table, dynamojournal.WithS3(s3c, bucket)).Load(t.Context(), "run-o")
		if err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("load of a tampered object: got %v, want a content mismatch", err)
		}
	})
}

// TestOffloadCommitLimit appends commits of exactly the commit limit (16
// MiB of encoded events, as in the embedded journal) and one byte more,
// with a bucket.
func TestOffloadCommitLimit(t *testing.T) {
	t.Parallel()
	s3c, bucket := dynamotest.S3(t)
	s, _, _ := newStore(t, dynamojournal.WithS3(s3c, bucket), dynamojournal.WithOffloadAbove(1<<10))
	mustAppend(t, s, startCommit("run-l"))
	at, err := journaltest.Sized(stepCommit("run-l", 1, `{}`), dynamojournal.MaxCommitSize, "")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, at)
	over, err := journaltest.Sized(stepCommit("run-l", 2, `{}`), dynamojournal.MaxCommitSize+1, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(t.Context(), over)
	var tl *journal.TooLargeError
	if !errors.As(err, &tl) || tl.Size != dynamojournal.MaxCommitSize+1 || tl.Limit != dynamojournal.MaxCommitSize {
		t.Fatalf("append of 16 MiB + 1: got %v, want a TooLargeError of that size", err)
	}
	_, events, err := s.Load(t.Context(), "run-l")
	if err != nil {
		t.Fatal(err)
	}
	got, want := events[len(events)-1], at.Events[len(at.Events)-1]
	if len(events) != 1+len(at.Events) || got.Step != "big" || !bytes.Equal(got.Output, want.Output) {
		t.Errorf("the 16 MiB commit read back differently: %d events, the last %q with %d output bytes",
			len(events), got.Step, len(got.Output))
	}
}

func keys(item map[string]types.AttributeValue) []string {
	var ks []string
	for k := range item {
		ks = append(ks, k)
	}
	return ks
}
