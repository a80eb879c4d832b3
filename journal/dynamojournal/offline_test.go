package dynamojournal_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// offlineStore returns a Store whose client must never be called: the
// checks under test happen before any request.
func offlineStore() *dynamojournal.Store {
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")})
	return dynamojournal.New(c, "offline")
}

func TestTableSchema(t *testing.T) {
	in := dynamojournal.TableSchema("journal")
	if got := aws.ToString(in.TableName); got != "journal" {
		t.Errorf("table name: got %q", got)
	}
	var keys []string
	for _, k := range in.KeySchema {
		keys = append(keys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	if diff := cmp.Diff(keys, []string{"pk:HASH", "sk:RANGE"}); diff != "" {
		t.Errorf("key schema (-got +want):\n%s", diff)
	}
	var indexes []string
	for _, ix := range in.GlobalSecondaryIndexes {
		s := aws.ToString(ix.IndexName) + "(" + string(ix.Projection.ProjectionType) + " " +
			strings.Join(ix.Projection.NonKeyAttributes, ",") + ")"
		for _, k := range ix.KeySchema {
			s += " " + aws.ToString(k.AttributeName) + ":" + string(k.KeyType)
		}
		indexes = append(indexes, s)
	}
	want := []string{
		"byWorkflow(INCLUDE id,workflow,defHash,status,seq,created,updated,hash,name,version,json) gsi1pk:HASH gsi1sk:RANGE",
		"byStatus(INCLUDE id,workflow,defHash,status,seq,created,updated,hash,name,version,json) gsi2pk:HASH gsi2sk:RANGE",
	}
	if diff := cmp.Diff(indexes, want); diff != "" {
		t.Errorf("indexes (-got +want):\n%s", diff)
	}
	for _, a := range in.AttributeDefinitions {
		if a.AttributeType != "S" {
			t.Errorf("attribute %s: type %s, want S", aws.ToString(a.AttributeName), a.AttributeType)
		}
	}
}

func TestInvalidCommits(t *testing.T) {
	s := offlineStore()
	tests := []struct {
		name string
		c    journal.Commit
		want error
	}{
		{"no run", journal.Commit{After: 1, Events: []journal.Event{{Kind: journal.StepSucceeded}}}, nil},
		{"no events", journal.Commit{Run: "run-x", After: 1}, nil},
		{"no workflow", journal.Commit{Run: "run-x", DefHash: "h", Events: []journal.Event{{Kind: journal.RunStarted}}}, nil},
		{"negative after", journal.Commit{Run: "run-x", After: -1, Events: []journal.Event{{Kind: journal.StepSucceeded}}}, journal.ErrConflict},
		{"too large", journal.Commit{Run: "run-x", After: 1, Events: []journal.Event{
			{Kind: journal.StepSucceeded, Step: "huge", Output: []byte(`"` + incompressible(600<<10) + `"`)}}}, journal.ErrTooLarge},
	}
	for _, tc := range tests {
		_, err := s.Append(t.Context(), tc.c)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: %v: the store made a request", tc.name, err)
		}
	}
}

func TestInvalidCursorOffline(t *testing.T) {
	s := offlineStore()
	for _, q := range []journal.Query{
		{Cursor: "not base64!"},
		{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"i":"byStatus","k":{}}`))},
		// A cursor of the index "all", since removed.
		{Cursor: base64.RawURLEncoding.EncodeToString(
			[]byte(`{"i":"all","k":{"pk":"RUN#r","sk":"HEAD","gsi3pk":"RUNS","gsi3sk":"x"}}`))},
		// A cursor of a listing of all runs used for a workflow query, and
		// the reverse.
		{Workflow: "a", Cursor: base64.RawURLEncoding.EncodeToString(
			[]byte(`{"i":"byStatus*","a":"2025-03-01T12:00:00.000000000Z#r01","o":["running"]}`))},
		{Cursor: base64.RawURLEncoding.EncodeToString(
			[]byte(`{"i":"byWorkflow","k":{"pk":"RUN#r","sk":"HEAD","gsi1pk":"WF#a","gsi1sk":"x"}}`))},
		// Listings of all runs: an unknown status, a status twice, a
		// position that is not a sort key, no position, no partition.
		{Cursor: base64.RawURLEncoding.EncodeToString(
			[]byte(`{"i":"byStatus*","a":"2025-03-01T12:00:00.000000000Z#r01","o":["sleeping"]}`))},
		{Cursor: base64.RawURLEncoding.EncodeToString(
			[]byte(`{"i":"byStatus*","a":"2025-03-01T12:00:00.000000000Z#r01","o":["running","running"]}`))},
		{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"i":"byStatus*","a":"r01","o":["running"]}`))},
		{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"i":"byStatus*","o":["running"]}`))},
		{Cursor: base64.RawURLEncoding.EncodeToString(
			[]byte(`{"i":"byStatus*","a":"2025-03-01T12:00:00.000000000Z#r01"}`))},
	} {
		_, _, err := s.Runs(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "invalid cursor") {
			t.Errorf("cursor %q: got %v, want an invalid cursor error", q.Cursor, err)
		}
	}
}
