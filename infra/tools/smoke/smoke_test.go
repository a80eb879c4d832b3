package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
)

// TestSmoke runs the smoke checks against the running local stack; it
// skips when infra/env.sh has not been sourced.
func TestSmoke(t *testing.T) {
	if os.Getenv("AWS_ENDPOINT_URL") == "" || os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" {
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			t.Fatal("ORDO_REQUIRE_STACK=1 but the stack endpoints are not set")
		}
		t.Skip("AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB not set: infra/start.sh && . infra/env.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("smoketest-%d", time.Now().UnixNano())
	if err := checkDynamo(ctx, cfg, name); err != nil {
		t.Errorf("dynamodb: %v", err)
	}
	if err := checkSQS(ctx, cfg, name); err != nil {
		t.Errorf("sqs: %v", err)
	}
	if err := checkKinesis(ctx, cfg, name); err != nil {
		t.Errorf("kinesis: %v", err)
	}
}
