package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// needKumo skips unless the Lambda emulator answers (fails with
// ORDO_REQUIRE_STACK=1).
func needKumo(t *testing.T) {
	t.Helper()
	u, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL"))
	if err == nil && u.Host != "" {
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			return
		}
	}
	msg := "the Lambda emulator (kumo, AWS_ENDPOINT_URL) is not answering: run infra/start.sh and . infra/env.sh"
	if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestFunctionsOnLambda lists the step functions a platform with a given
// prefix may invoke: the functions so named, without the platform's own.
func TestFunctionsOnLambda(t *testing.T) {
	needKumo(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := lambda.NewFromConfig(cfg)
	prefix := fmt.Sprintf("fn%d-", time.Now().UnixNano()%1e9)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("bootstrap")
	w.Write([]byte("#!/bin/sh\n"))
	zw.Close()
	for _, name := range []string{"team-receive", "api", "orchestrator"} {
		_, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(prefix + name),
			Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Role: aws.String("arn:aws:iam::000000000000:role/lambda-role"), Code: &lambdatypes.FunctionCode{ZipFile: zbuf.Bytes()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			client.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(prefix + name)})
		})
	}
	fns, err := lambdaFunctions(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 || fns[0].Name != "team-receive" || fns[0].Where == "" {
		t.Fatalf("functions = %+v, want only team-receive", fns)
	}
}
