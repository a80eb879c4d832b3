package semantictest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
)

func TestSemanticsDynamo(t *testing.T) {
	dynamoClient(t) // skip the whole suite at once without the stack
	semantictest.Run(t, func(t *testing.T) journal.Store {
		c := dynamoClient(t)
		return dynamojournal.New(c, newTable(t, c))
	})
}

var (
	probeOnce sync.Once
	probeErr  error
)

// dynamoClient returns a client of DynamoDB Local, or skips the test when
// the stack is absent (fails instead with ORDO_REQUIRE_STACK=1).
func dynamoClient(t *testing.T) *dynamodb.Client {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	probeOnce.Do(func() {
		if endpoint == "" {
			probeErr = errors.New("AWS_ENDPOINT_URL_DYNAMODB is not set")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, probeErr = newDynamoClient(ctx, endpoint).ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	})
	if probeErr != nil {
		msg := fmt.Sprintf("DynamoDB Local is not reachable (%v); run infra/start.sh && . infra/env.sh", probeErr)
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return newDynamoClient(context.Background(), endpoint)
}

func newDynamoClient(ctx context.Context, endpoint string) *dynamodb.Client {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil || cfg.Region == "" {
		cfg = aws.Config{Region: "us-east-1", Credentials: cfg.Credentials}
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true // DynamoDB Local omits x-amz-crc32
	})
}

// newTable creates a table with a unique name, dropped when t ends.
func newTable(t *testing.T, c *dynamodb.Client) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	table := "ordo-semantic-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamojournal.CreateTable(ctx, c, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
			t.Logf("delete table %s: %v", table, err)
		}
	})
	return table
}
