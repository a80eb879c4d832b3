// Package dynamotest connects tests to DynamoDB Local (the local AWS stack:
// infra/start.sh, then . infra/env.sh) and gives each test a fresh journal
// table. Without the stack, tests skip with a clear message, or fail when
// ORDO_REQUIRE_STACK=1 (as `make test` and CI set it), so they never skip
// silently where the stack is meant to be.
package dynamotest

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
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ordoflow/ordo/journal/dynamojournal"
)

var (
	probeOnce sync.Once
	probeErr  error
)

// Client returns a client of DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB), or
// skips tb when it does not answer (fails with ORDO_REQUIRE_STACK=1).
func Client(tb testing.TB, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	tb.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	probeOnce.Do(func() {
		if endpoint == "" {
			probeErr = errors.New("AWS_ENDPOINT_URL_DYNAMODB is not set")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, probeErr = client(ctx, endpoint).ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	})
	if probeErr != nil {
		msg := fmt.Sprintf("DynamoDB Local is not reachable (%v); run infra/start.sh && . infra/env.sh", probeErr)
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return client(context.Background(), endpoint, opts...)
}

func client(ctx context.Context, endpoint string, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		cfg = aws.Config{Region: "us-east-1"}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true // DynamoDB Local omits x-amz-crc32
	}}, opts...)...)
}

// Table creates a journal table with a unique name, dropped when tb ends.
func Table(tb testing.TB, c *dynamodb.Client) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	table := "ordo-test-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamojournal.CreateTable(ctx, c, table); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
			tb.Logf("delete table %s: %v", table, err)
		}
	})
	return table
}

var (
	s3Once sync.Once
	s3Err  error
)

// S3 returns a client of the local stack's S3 (kumo, at AWS_ENDPOINT_URL,
// path-style) and a fresh bucket, or skips tb when it does not answer
// (fails with ORDO_REQUIRE_STACK=1). kumo keeps objects in memory; the
// bucket is not deleted.
func S3(tb testing.TB, opts ...func(*s3.Options)) (*s3.Client, string) {
	tb.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	c := s3Client(context.Background(), endpoint, opts...)
	s3Once.Do(func() {
		if endpoint == "" {
			s3Err = errors.New("AWS_ENDPOINT_URL is not set")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, s3Err = c.ListBuckets(ctx, &s3.ListBucketsInput{})
	})
	if s3Err != nil {
		msg := fmt.Sprintf("the local stack's S3 (kumo) is not reachable (%v); run infra/start.sh && . infra/env.sh", s3Err)
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	var b [6]byte
	rand.Read(b[:])
	bucket := "ordo-test-" + hex.EncodeToString(b[:])
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		tb.Fatalf("create bucket %s: %v", bucket, err)
	}
	return c, bucket
}

func s3Client(ctx context.Context, endpoint string, opts ...func(*s3.Options)) *s3.Client {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		cfg = aws.Config{Region: "us-east-1"}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = true // a local endpoint has no per-bucket host names
		// kumo sends no checksums; do not log each response that lacks one.
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	}}, opts...)...)
}
