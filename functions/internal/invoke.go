package internal

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// LambdaAPI is the part of the Lambda client the invoker uses.
type LambdaAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaInvoker runs a step attempt as a synchronous (RequestResponse)
// Lambda invoke of "<prefix><function>", or starts it with an asynchronous
// (Event) one (InvokeEvent, for steps in async invoke mode). A function may be pinned to a
// version or alias in the definition ("charge:live"). Throttling and 5xx
// are retried by the SDK's retryer; what remains is returned as a transport
// error, which the engine records as a retryable failure.
type LambdaInvoker struct {
	client LambdaAPI
	prefix string
}

var _ orchestrator.Invoker = (*LambdaInvoker)(nil)

// NewLambdaInvoker returns an invoker over client for functions named
// prefix+function.
func NewLambdaInvoker(client LambdaAPI, prefix string) *LambdaInvoker {
	return &LambdaInvoker{client: client, prefix: prefix}
}

// lambdaError is the payload of a failed invoke (FunctionError set).
type lambdaError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// Invoke implements orchestrator.Invoker.
func (i *LambdaInvoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return step.Response{}, fmt.Errorf("invoke %s: encode request: %w", req.Function, err)
	}
	name, qualifier, _ := strings.Cut(req.Function, ":")
	in := &lambda.InvokeInput{FunctionName: aws.String(i.prefix + name), Payload: payload,
		InvocationType: types.InvocationTypeRequestResponse}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := i.client.Invoke(ctx, in)
	if err != nil {
		return step.Response{}, fmt.Errorf("invoke %s: %w", i.prefix+name, err)
	}
	if out.FunctionError != nil {
		var le lambdaError
		_ = json.Unmarshal(out.Payload, &le)
		msg := le.Message
		if msg == "" {
			msg = strings.TrimSpace(string(out.Payload))
		}
		return step.Response{Error: &step.Failure{
			Message: fmt.Sprintf("function %s: %s: %s", i.prefix+name, aws.ToString(out.FunctionError), msg),
			Kind:    step.KindLambda}}, nil
	}
	var resp step.Response
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		return step.Response{Error: &step.Failure{
			Message: fmt.Sprintf("function %s returned a payload that is not a step response: %v", i.prefix+name, err),
			Kind:    step.KindProtocol, Terminal: true}}, nil
	}
	return resp, nil
}
