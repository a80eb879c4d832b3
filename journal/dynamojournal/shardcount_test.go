package dynamojournal_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// TestShardCountChange changes the shard count of a live table both ways:
// heads and review items written with 16 shards stay listed, in order and
// paged, by a Store configured with 4 (and the reverse), because every
// writer records its count and listings read the largest recorded.
func TestShardCountChange(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	table := newTable(t, c)
	small := dynamojournal.New(c, table, dynamojournal.WithIndexShards(4))
	var want, wantReviews []string
	add := func(s *dynamojournal.Store, i int) {
		t.Helper()
		cm := startCommit(fmt.Sprintf("run-%02d", i))
		cm.Status = journal.StatusReview
		cm.At = t0.Add(time.Duration(i) * time.Second)
		mustAppend(t, s, cm)
		want = append([]string{cm.Run}, want...)
		it := journal.ReviewItem{ID: journal.ReviewID(journal.ReviewFailedEffect, fmt.Sprintf("e%02d", i)),
			Kind: journal.ReviewFailedEffect, Reason: "test", Created: cm.At}
		if _, err := s.PutReview(t.Context(), it); err != nil {
			t.Fatal(err)
		}
		wantReviews = append(wantReviews, it.ID)
	}
	for i := range 10 {
		add(small, i)
	}
	// Grown to 16: a new writer records 16.
	large := dynamojournal.New(c, table, dynamojournal.WithIndexShards(16))
	for i := 10; i < 40; i++ {
		add(large, i)
	}
	high := 0
	for _, r := range want {
		it := rawHeadItem(t, c, table, r)
		var shard int
		fmt.Sscanf(it["gsi2pk"].(*types.AttributeValueMemberS).Value, "ST#review#%d", &shard)
		high = max(high, shard)
	}
	if high < 4 {
		t.Fatalf("no head landed in a shard of 16 past the first 4 (highest %d): the test shows nothing", high)
	}
	// Shrunk back to 4 (a new Store, as a redeployed function): it still
	// reads all 16 shards, as does a reader that never wrote.
	for _, s := range []*dynamojournal.Store{dynamojournal.New(c, table, dynamojournal.WithIndexShards(4)),
		dynamojournal.New(c, table, dynamojournal.WithIndexShards(1))} {
		for _, q := range []journal.Query{{Status: journal.StatusReview}, {Workflow: "order"}, {}} {
			eventuallyPaged(t, s, q, 7, want)
		}
		eventuallyReviews(t, s, journal.ReviewQuery{}, 7, wantReviews)
	}
}

// TestReviewShards checks that review items spread over the shards, and
// that items written before they were sharded (index partition "RV#open")
// are listed with them, oldest first and paged, and move to their shard
// when resolved.
func TestReviewShards(t *testing.T) {
	t.Parallel()
	s, db, table := newStore(t)
	var want []string
	shards := map[string]bool{}
	for i := range 24 {
		kind := journal.ReviewFailedEffect
		if i%3 == 0 {
			kind = journal.ReviewMalformedTrigger
		}
		it := journal.ReviewItem{ID: journal.ReviewID(kind, fmt.Sprintf("src-%02d", i)), Kind: kind, Reason: "test",
			Created: t0.Add(time.Duration(i) * time.Second)}
		if _, err := s.PutReview(t.Context(), it); err != nil {
			t.Fatal(err)
		}
		want = append(want, it.ID)
		key := map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "REVIEW#" + it.ID},
			"sk": &types.AttributeValueMemberS{Value: "ITEM"},
		}
		if i%4 == 0 { // as the previous version wrote it
			if _, err := db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: &table, Key: key,
				UpdateExpression:          aws.String("SET gsi2pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "RV#open"}},
			}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		out, err := db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: &table, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		pk := out.Item["gsi2pk"].(*types.AttributeValueMemberS).Value
		if pk != dynamojournal.ReviewPartition("open", it.ID, dynamojournal.DefaultIndexShards) {
			t.Fatalf("%s: index partition %s", it.ID, pk)
		}
		shards[pk] = true
	}
	if len(shards) < dynamojournal.DefaultIndexShards/2 {
		t.Errorf("18 items landed in %d shards of %d", len(shards), dynamojournal.DefaultIndexShards)
	}
	eventuallyReviews(t, s, journal.ReviewQuery{}, 5, want)
	var malformed []string
	for _, id := range want {
		if id[:len(journal.ReviewMalformedTrigger)] == string(journal.ReviewMalformedTrigger) {
			malformed = append(malformed, id)
		}
	}
	eventuallyReviews(t, s, journal.ReviewQuery{Kind: journal.ReviewMalformedTrigger}, 3, malformed)

	// A legacy item resolved moves to its shard of resolved items.
	if _, err := s.ResolveReview(t.Context(), want[0], journal.Resolution{Action: journal.ResolutionDiscarded, At: t0}); err != nil {
		t.Fatal(err)
	}
	eventuallyReviews(t, s, journal.ReviewQuery{}, 5, want[1:])
	eventuallyReviews(t, s, journal.ReviewQuery{Resolved: true}, 5, want[:1])
}

// eventuallyReviews lists q page by page until the items listed are want,
// in order, or fails after a deadline.
func eventuallyReviews(t *testing.T, s journal.Reviews, q journal.ReviewQuery, limit int, want []string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = nil
		q.Limit, q.Cursor = limit, ""
		for pages := 0; ; pages++ {
			items, next, err := s.Reviews(t.Context(), q)
			if err != nil {
				t.Fatalf("reviews %+v: %v", q, err)
			}
			if len(items) > limit || pages > len(want)+1 {
				t.Fatalf("reviews %+v: %d items on a page of %d, page %d", q, len(items), limit, pages)
			}
			for _, it := range items {
				got = append(got, it.ID)
			}
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reviews %+v by pages of %d: got %v, want %v", q, limit, got, want)
		}
	}
}
