package internal

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

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
