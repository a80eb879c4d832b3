package internal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/ordoflow/ordo/functions/internal"
)

type fakeGetter struct {
	calls    map[string]int
	deployed map[string]bool
	down     bool
}

func (f *fakeGetter) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	f.calls[*in.FunctionName]++
	if f.down {
		return nil, errors.New("connection refused")
	}
	if !f.deployed[*in.FunctionName] {
		return nil, &types.ResourceNotFoundException{Message: new(string)}
	}
	return &lambda.GetFunctionOutput{}, nil
}

func TestDeployedFunctions(t *testing.T) {
	t.Parallel()
	f := &fakeGetter{calls: map[string]int{}, deployed: map[string]bool{"ordo-team-step": true, "ordo-api": true}}
	d := internal.NewDeployedFunctions(f, "ordo-")
	if !d.Has("team-step") || !d.Has("team-step") || f.calls["ordo-team-step"] != 1 {
		t.Fatalf("a deployed step: %v (asked %d times, want once: cached)", d.Has("team-step"), f.calls["ordo-team-step"])
	}
	if d.Has("team-stpe") {
		t.Fatal("a step that is not deployed counts as deployed")
	}
	if d.Has("api") {
		t.Fatal("the platform's API function counts as a step")
	}
	f.down = true
	if !d.Has("other") {
		t.Fatal("when Lambda cannot be asked, a function must not be refused")
	}
}
