package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// seedReview writes a malformed trigger and a failed effect of run to db's
// review items, as the Lambdas would.
func seedReview(t *testing.T, db, run string) string {
	t.Helper()
	s, err := sqlitejournal.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := journal.Effect{ID: run + "/manual/1/0", Kind: "log", Target: "audit"}
	payload, _ := json.Marshal(e)
	now := time.Now()
	for _, it := range []journal.ReviewItem{
		{ID: "malformed-trigger/sqs:m1", Kind: journal.ReviewMalformedTrigger, Source: "sqs:orders", Payload: json.RawMessage(`{"tpye":"order"}`), Reason: "matches no binding", Created: now},
		{ID: "failed-effect/" + e.ID, Kind: journal.ReviewFailedEffect, Run: run, Payload: payload, Reason: "target down", Created: now.Add(time.Millisecond)},
	} {
		if _, err := s.PutReview(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	return e.ID
}

func TestReviewListAndResolve(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	pushNote(t, db)
	run := strings.TrimSuffix(strings.Fields(stdout(t, db, "start", "note", "--key", "n1"))[1], ":")
	effectID := seedReview(t, db, run)

	list := stdout(t, db, "review", "list")
	if !strings.Contains(list, "malformed-trigger/sqs:m1") || !strings.Contains(list, "failed-effect/"+effectID) {
		t.Fatalf("review list:\n%s", list)
	}
	if runs := stdout(t, db, "runs"); strings.Contains(runs, "malformed") || strings.Contains(runs, "failed-effect") {
		t.Fatalf("ordo runs lists review items:\n%s", runs)
	}
	// A failed effect is re-dispatched: executed again and journaled on its run.
	if out := stdout(t, db, "review", "resolve", "failed-effect/"+effectID, "--by", "ops"); !strings.Contains(out, "redispatched") {
		t.Fatalf("resolve the failed effect: %q", out)
	}
	_, events := head(t, db, run)
	succeeded := false
	for _, e := range events {
		succeeded = succeeded || e.Kind == journal.EffectSucceeded && e.EffectID == effectID
	}
	if !succeeded {
		t.Fatalf("the re-dispatched effect's success is not journaled on %s", run)
	}
	// A malformed trigger needs a decision; the embedded runtime cannot
	// resubmit it, and a refused resubmission leaves it open.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"review", "resolve", "malformed-trigger/sqs:m1"}, "say resubmit or discard"},
		{[]string{"review", "resolve", "malformed-trigger/sqs:m1", "--resubmit", "--body", `{"type":"order"}`}, "decodes no triggers"},
		{[]string{"review", "resolve", "failed-effect/" + effectID}, "already redispatched"},
		{[]string{"review", "resolve", "failed-effect/none"}, "not found"},
		{[]string{"review", "list", "--kind", "typo"}, "want one of malformed-trigger, failed-effect"},
	} {
		if err := ordo(t, db, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ordo %v: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	if list := stdout(t, db, "review", "list", "--kind", "malformed-trigger"); !strings.Contains(list, "malformed-trigger/sqs:m1") {
		t.Fatalf("the malformed trigger is not open after a refused resubmission:\n%s", list)
	}
	stdout(t, db, "review", "resolve", "malformed-trigger/sqs:m1", "--discard", "--note", "test message")
	if list := stdout(t, db, "review", "list"); strings.Contains(list, "sqs:m1") || strings.Contains(list, effectID) {
		t.Fatalf("open items after resolving both:\n%s", list)
	}
	if list := stdout(t, db, "review", "list", "--resolved", "-o", "json"); !strings.Contains(list, `"discarded"`) || !strings.Contains(list, `"redispatched"`) {
		t.Fatalf("resolved items:\n%s", list)
	}
}
