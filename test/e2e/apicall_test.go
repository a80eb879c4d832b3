package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// apiCall sends one request to the platform's API function as its
// Function URL would.
func apiCall(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	payload, _ := json.Marshal(events.LambdaFunctionURLRequest{RawPath: path, Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path}}})
	out, err := lambda.NewFromConfig(cfg).Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String(resource(t, "ApiFunction").Name), Payload: payload})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke %s %s: %v %s", method, path, err, out.Payload)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		t.Fatalf("%s %s: response %s: %v", method, path, out.Payload, err)
	}
	return resp.StatusCode, resp.Body
}
