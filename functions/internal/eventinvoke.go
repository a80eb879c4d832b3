package internal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var _ orchestrator.EventInvoker = (*LambdaInvoker)(nil)

// InvokeEvent implements orchestrator.EventInvoker: an asynchronous
// (InvocationType Event) invoke of the step's function, which Lambda
// accepts with 202 and runs later. The function's EventInvokeConfig sends
// the outcome to the orchestrator's queue as a destination record
// (DestinationRecord); template.yaml configures it on every step function.
func (i *LambdaInvoker) InvokeEvent(ctx context.Context, req step.Request) error {
	payload, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("invoke %s: encode request: %w", req.Function, err)
	}
	name, qualifier, _ := strings.Cut(req.Function, ":")
	in := &lambda.InvokeInput{FunctionName: aws.String(i.prefix + name), Payload: payload,
		InvocationType: types.InvocationTypeEvent}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := i.client.Invoke(ctx, in)
	if err != nil {
		return fmt.Errorf("invoke %s (event): %w", i.prefix+name, err)
	}
	if out.StatusCode != http.StatusAccepted {
		return fmt.Errorf("invoke %s (event): status %d, want 202 (accepted)", i.prefix+name, out.StatusCode)
	}
	return nil
}

// StepInvoke reads ORDO_STEP_INVOKE, the invoke mode of steps whose
// definition sets none: "sync" (default when empty) or "async".
func StepInvoke(getenv func(string) string) (string, error) {
	switch v := getenv("ORDO_STEP_INVOKE"); v {
	case "", workflow.InvokeSync:
		return workflow.InvokeSync, nil
	case workflow.InvokeAsync:
		return v, nil
	default:
		return "", fmt.Errorf("ORDO_STEP_INVOKE=%q: want %s or %s", v, workflow.InvokeSync, workflow.InvokeAsync)
	}
}

// DestinationRecord is the record Lambda sends to an asynchronous
// invocation's destination (EventInvokeConfig.DestinationConfig OnSuccess
// or OnFailure): the original request and the function's response. An
// asynchronous step's result reaches the orchestrator's queue as one.
type DestinationRecord struct {
	Version   string    `json:"version"`
	Timestamp time.Time `json:"timestamp"`
	// RequestContext says how the invocation ended.
	RequestContext struct {
		RequestID   string `json:"requestId"`
		FunctionARN string `json:"functionArn"`
		// Condition is DestinationSuccess, or why it failed
		// ("RetriesExhausted", "EventAgeExceeded").
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	// RequestPayload is the event the function was invoked with (here a
	// step.Request).
	RequestPayload json.RawMessage `json:"requestPayload"`
	// ResponseContext has the status and, on failure, FunctionError
	// ("Unhandled").
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	// ResponsePayload is what the function returned (a step.Response), or
	// its error ({"errorMessage","errorType"}).
	ResponsePayload json.RawMessage `json:"responsePayload,omitempty"`
}

// DestinationSuccess is the RequestContext.Condition of a function that
// returned.
const DestinationSuccess = "Success"

// isDestinationRecord reports whether a message's top-level keys are those
// of a Lambda destination record.
func isDestinationRecord(requestContext, requestPayload, responseContext *json.RawMessage) bool {
	return requestContext != nil && requestPayload != nil && responseContext != nil
}

// decodeResult decodes a destination record into the step result it
// carries. A record that does not name an attempt is malformed (it goes to
// review); a function that failed or answered something that is not a
// step response is the attempt's failure, as with a synchronous invoke.
func decodeResult(channel, trigger string, body []byte) (Message, error) {
	bad := func(format string, args ...any) (Message, error) {
		return Message{}, fmt.Errorf("%w: %s record %s: Lambda destination record: %s", ErrMalformed, channel, trigger, fmt.Sprintf(format, args...))
	}
	var rec DestinationRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return bad("%v", err)
	}
	var req step.Request
	if err := json.Unmarshal(rec.RequestPayload, &req); err != nil {
		return bad("its requestPayload is not a step request: %v", err)
	}
	if req.Run == "" || req.Step == "" || req.Attempt < 1 {
		return bad("its requestPayload names no step attempt (run %q, step %q, attempt %d)", req.Run, req.Step, req.Attempt)
	}
	if rec.RequestContext.Condition == "" {
		return bad("requestContext has no condition")
	}
	res := orchestrator.StepResult{Step: req.Step, Attempt: req.Attempt, Index: req.Index, Compensation: req.Compensation,
		Response: destinationResponse(&rec)}
	return Message{Run: req.Run, Result: &res, Trigger: trigger}, nil
}

// destinationResponse is the step response a record carries, or the
// attempt's failure.
func destinationResponse(rec *DestinationRecord) step.Response {
	fn := rec.RequestContext.FunctionARN
	if i := strings.Index(fn, ":function:"); i >= 0 {
		fn = fn[i+len(":function:"):]
	}
	if rec.RequestContext.Condition != DestinationSuccess || rec.ResponseContext.FunctionError != "" {
		var le lambdaError
		_ = json.Unmarshal(rec.ResponsePayload, &le)
		msg := le.Message
		if msg == "" {
			msg = strings.TrimSpace(string(rec.ResponsePayload))
		}
		return step.Response{Error: &step.Failure{Kind: step.KindLambda,
			Message: fmt.Sprintf("function %s: %s after %d invocations: %s %s", fn, rec.RequestContext.Condition,
				rec.RequestContext.ApproximateInvokeCount, rec.ResponseContext.FunctionError, msg)}}
	}
	var resp step.Response
	if err := json.Unmarshal(rec.ResponsePayload, &resp); err != nil || len(rec.ResponsePayload) == 0 {
		if err == nil {
			err = fmt.Errorf("no responsePayload")
		}
		return step.Response{Error: &step.Failure{
			Message: fmt.Sprintf("function %s returned a payload that is not a step response: %v", fn, err),
			Kind:    step.KindProtocol, Terminal: true}}
	}
	return resp
}
