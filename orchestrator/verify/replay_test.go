package verify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func TestReplaySameDefinition(t *testing.T) {
	for _, o := range []order{{ID: "o1", Cents: 1000}, {ID: "o2", Cents: 500, Short: true}, {ID: "o3", Cents: 200_000}} {
		rec := record(t, o)
		if err := verify.Replay(rec, shop()); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
	}
}

func TestReplayCatchesDrift(t *testing.T) {
	retry := workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Minute), MaxInterval: workflow.Duration(2 * time.Hour)})
	cases := []struct {
		name string
		def  *workflow.Definition
		want string
	}{
		{"reordered", shop(workflow.Version("2"), workflow.Step("price", "price"),
			workflow.Step("charge", "charge", workflow.After("price"), workflow.Input(`{"cents": steps.price.output.total}`)),
			workflow.Step("reserve", "reserve", workflow.After("charge"), retry),
			workflow.Step("receipt", "receipt", workflow.After("reserve"))),
			"the journal records StepScheduled reserve attempt 1; definition shop@2 decides StepScheduled charge attempt 1"},
		{"removed", shop(workflow.Version("3"), workflow.Step("price", "price"),
			workflow.Step("charge", "charge", workflow.After("price"), workflow.Input(`{"cents": steps.price.output.total}`)),
			workflow.Step("receipt", "receipt", workflow.After("charge"))),
			`step "reserve" is not in definition shop@3`},
		{"input mapping", shop(workflow.Version("4"), workflow.Step("price", "price"),
			workflow.Step("reserve", "reserve", workflow.After("price"), retry),
			workflow.Step("charge", "charge", workflow.After("reserve"), workflow.Input(`{"cents": steps.price.output.total * 2}`)),
			workflow.Step("receipt", "receipt", workflow.After("charge"))),
			"StepScheduled charge attempt 1; definition shop@4 decides it with a different input"},
		{"retry policy", shop(workflow.Version("5"), workflow.Step("price", "price"),
			workflow.Step("reserve", "reserve", workflow.After("price"),
				workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Hour), MaxInterval: workflow.Duration(2 * time.Hour)})),
			workflow.Step("charge", "charge", workflow.After("reserve"), workflow.Input(`{"cents": steps.price.output.total}`)),
			workflow.Step("receipt", "receipt", workflow.After("charge"))),
			"RetryScheduled reserve attempt 2; definition shop@5 decides it with a different due"},
	}
	rec := record(t, order{ID: "o2", Cents: 500, Short: true})
	for _, c := range cases {
		err := verify.Replay(rec, c.def)
		var d *verify.Drift
		if !errors.As(err, &d) || !errors.Is(err, verify.ErrDrift) {
			t.Errorf("%s: %v, want a drift", c.name, err)
			continue
		}
		t.Log(err)
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "run shop/") || d.Event == 0 {
			t.Errorf("%s: %v\nwant it to name the run, the event and say %q", c.name, err, c.want)
		}
	}
}

func TestReplayNeedsTheRunsDefinition(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	rec.Definition = nil
	if err := verify.Replay(rec, shop()); !errors.Is(err, verify.ErrNoDefinition) {
		t.Errorf("got %v, want ErrNoDefinition", err)
	}
}
