package internal

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestStepFunctionsAgainstTheLambdaAPI(t *testing.T) {
	cfg := kumoConfig(t)
	ctx := context.Background()
	client := lambda.NewFromConfig(cfg)
	prefix := fmt.Sprintf("sfcheck%d-", time.Now().UnixNano())
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("bootstrap")
	w.Write([]byte("#!/bin/sh\n"))
	zw.Close()
	for _, name := range []string{"charge", "orchestrator"} {
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
	steps := NewStepFunctions(client, prefix)
	for name, want := range map[string]bool{"charge": true, "refund": false, "orchestrator": false} {
		if got := steps.Has(name); got != want {
			t.Errorf("Has(%s) = %v, want %v", name, got, want)
		}
	}
}
