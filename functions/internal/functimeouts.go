package internal

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/ordoflow/ordo/orchestrator"
)

// LambdaConfigAPI is the part of the Lambda client FunctionTimeouts uses.
type LambdaConfigAPI interface {
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput,
		opts ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
}

// FunctionTimeouts is the orchestrator's orchestrator.FunctionTimeouts: the
// configured timeout of "<prefix><function>" (GetFunctionConfiguration,
// with the definition's version or alias), cached for CacheFor. When the
// lookup fails (no permission, throttled) it answers the deployment's
// default, ORDO_STEP_FUNCTION_TIMEOUT (the template's StepTimeout), and
// asks again after RetryAfter. A step's lease is then its function's
// timeout plus orchestrator.LeaseMargin: a lost result is noticed that
// long after its attempt started, not 15 minutes later.
type FunctionTimeouts struct {
	client   LambdaConfigAPI
	prefix   string
	fallback time.Duration

	// CacheFor is how long a looked-up timeout is used (default 10 min);
	// RetryAfter how long a failed lookup answers the fallback (1 min).
	CacheFor, RetryAfter time.Duration

	mu    sync.Mutex
	known map[string]timeoutEntry
	now   func() time.Time
}

type timeoutEntry struct {
	d       time.Duration
	ok      bool
	expires time.Time
}

var _ orchestrator.FunctionTimeouts = (*FunctionTimeouts)(nil)

// NewFunctionTimeouts returns the timeouts of functions named
// prefix+function; fallback (0: none) answers when a lookup fails.
func NewFunctionTimeouts(client LambdaConfigAPI, prefix string, fallback time.Duration) *FunctionTimeouts {
	return &FunctionTimeouts{client: client, prefix: prefix, fallback: fallback,
		CacheFor: 10 * time.Minute, RetryAfter: time.Minute, known: map[string]timeoutEntry{}, now: time.Now}
}

// StepFunctionTimeout reads ORDO_STEP_FUNCTION_TIMEOUT (seconds; empty: 0)
// through getenv.
func StepFunctionTimeout(getenv func(string) string) (time.Duration, error) {
	v := getenv("ORDO_STEP_FUNCTION_TIMEOUT")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("ORDO_STEP_FUNCTION_TIMEOUT %q: want a positive number of seconds", v)
	}
	return time.Duration(n) * time.Second, nil
}

// FunctionTimeout implements orchestrator.FunctionTimeouts.
func (t *FunctionTimeouts) FunctionTimeout(ctx context.Context, function string) (time.Duration, bool) {
	now := t.now()
	t.mu.Lock()
	e, cached := t.known[function]
	t.mu.Unlock()
	if cached && now.Before(e.expires) {
		return e.d, e.ok
	}
	name, qualifier, _ := strings.Cut(function, ":")
	in := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(t.prefix + name)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := t.client.GetFunctionConfiguration(ctx, in)
	switch {
	case err == nil && out.Timeout != nil && *out.Timeout > 0:
		e = timeoutEntry{d: time.Duration(*out.Timeout) * time.Second, ok: true, expires: now.Add(t.CacheFor)}
	default:
		e = timeoutEntry{d: t.fallback, ok: t.fallback > 0, expires: now.Add(t.RetryAfter)}
	}
	t.mu.Lock()
	t.known[function] = e
	t.mu.Unlock()
	return e.d, e.ok
}
