package internal

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// LambdaGetter is the part of the Lambda client DeployedFunctions uses.
type LambdaGetter interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
}

// platformFunctions are the platform's own functions, never steps.
var platformFunctions = []string{"orchestrator", "effects", "api", "api-viewer", "api-operator", "api-admin", "repair"}

// DeployedFunctions answers whether a step function is deployed, i.e.
// whether the Lambda "<prefix><name>" exists: the API checks pushed
// definitions with it. Answers are cached for a minute. Only a definite
// "not found" counts as absent: when Lambda cannot be asked, the function
// is assumed there (a wrong guess fails the step's invoke later, retryably,
// instead of refusing a good definition now).
type DeployedFunctions struct {
	client LambdaGetter
	prefix string
	now    func() time.Time

	mu    sync.Mutex
	known map[string]cached
}

type cached struct {
	ok bool
	at time.Time
}

// NewDeployedFunctions checks functions named prefix+name with client.
func NewDeployedFunctions(client LambdaGetter, prefix string) *DeployedFunctions {
	return &DeployedFunctions{client: client, prefix: prefix, now: time.Now, known: map[string]cached{}}
}

// Has reports whether the step function name is deployed.
func (d *DeployedFunctions) Has(name string) bool {
	if slices.Contains(platformFunctions, name) {
		return false
	}
	d.mu.Lock()
	c, hit := d.known[name]
	d.mu.Unlock()
	if hit && d.now().Sub(c.at) < time.Minute {
		return c.ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := d.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.prefix + name)})
	var nf *types.ResourceNotFoundException
	ok := !errors.As(err, &nf)
	if err == nil || !ok {
		d.mu.Lock()
		d.known[name] = cached{ok: ok, at: d.now()}
		d.mu.Unlock()
	}
	return ok
}
