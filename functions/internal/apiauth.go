package internal

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/ordoflow/ordo/api"
)

type urlContextKey struct{}

// FunctionURLContext returns the Function URL request context of the
// request ctx belongs to (FunctionURLHandler puts it there).
func FunctionURLContext(ctx context.Context) (events.LambdaFunctionURLRequestContext, bool) {
	rc, ok := ctx.Value(urlContextKey{}).(events.LambdaFunctionURLRequestContext)
	return rc, ok
}

// IAMCallers authenticates requests that came through a Function URL with
// AuthType AWS_IAM: Lambda checked the SigV4 signature before the function
// ran and put the caller's ARN in the request context. Every caller gets
// role, the role of this function's URL (ORDO_API_ROLE): one URL per role,
// and IAM decides who may call which URL.
func IAMCallers(role api.Role) api.Authenticator {
	return api.AuthenticatorFunc(func(r *http.Request) (api.Principal, error) {
		rc, ok := FunctionURLContext(r.Context())
		if !ok || rc.Authorizer == nil || rc.Authorizer.IAM == nil || rc.Authorizer.IAM.UserARN == "" {
			return api.Principal{}, fmt.Errorf("%w: no IAM caller in the request context (the Function URL must use AuthType AWS_IAM)", api.ErrUnauthenticated)
		}
		return api.Principal{Name: rc.Authorizer.IAM.UserARN, Role: role}, nil
	})
}

// FunctionsAPI is the part of the Lambda client the function check uses.
type FunctionsAPI interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
}

// PlatformFunctions are the deployment's own functions, never a step's.
var PlatformFunctions = []string{"orchestrator", "effects", "api", "api-viewer", "api-operator", "api-admin"}

// StepFunctions answers which step functions the deployment can invoke:
// the Lambdas named prefix+function (the orchestrator's naming
// convention, which its IAM policy allows), except the platform's own.
// Answers are cached: a function once found stays found.
type StepFunctions struct {
	client FunctionsAPI
	prefix string
	mu     sync.Mutex
	found  map[string]bool
}

// NewStepFunctions returns the check over client.
func NewStepFunctions(client FunctionsAPI, prefix string) *StepFunctions {
	return &StepFunctions{client: client, prefix: prefix, found: map[string]bool{}}
}

// Has reports whether the step function name exists (workflow.Functions).
// Lookups time out after a few seconds; a failed lookup counts as absent,
// so a push is refused rather than trusted.
func (s *StepFunctions) Has(name string) bool {
	if slices.Contains(PlatformFunctions, name) {
		return false
	}
	s.mu.Lock()
	ok := s.found[name]
	s.mu.Unlock()
	if ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(s.prefix + name)}); err != nil {
		return false // not found, or not allowed to look: not invocable either way
	}
	s.mu.Lock()
	s.found[name] = true
	s.mu.Unlock()
	return true
}
