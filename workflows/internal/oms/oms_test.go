package oms_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows/internal/oms"
)

func TestID(t *testing.T) {
	t.Parallel()
	a := oms.ID("ch", "ord-1")
	if a != oms.ID("ch", "ord-1") || len(a) != len("ch_")+16 {
		t.Errorf("ID = %q, want a stable ch_ + 16 hex", a)
	}
	if oms.ID("x", "ab", "c") == oms.ID("x", "a", "bc") {
		t.Error("ID does not separate its parts")
	}
	if d := oms.Digits(18, "a"); len(d) != 18 || d != oms.Digits(18, "a") {
		t.Errorf("Digits = %q", d)
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"ada@example.com": true, "a.b+c@mail.example.org": true,
		"": false, "ada": false, "@example.com": false, "ada@example": false,
		"ada@@example.com": false, "ada@.com": false, "ada@example.": false,
	} {
		if got := oms.ValidEmail(s); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestFormatCents(t *testing.T) {
	t.Parallel()
	for cents, want := range map[int64]string{0: "0.00 USD", 5: "0.05 USD", 132_400: "1324.00 USD", -1_999: "-19.99 USD"} {
		if got := oms.FormatCents(cents, "USD"); got != want {
			t.Errorf("FormatCents(%d) = %q, want %q", cents, got, want)
		}
	}
}

func TestEffectsAndAttempt(t *testing.T) {
	t.Parallel()
	if got := oms.Attempt(context.Background()); got != 1 {
		t.Errorf("Attempt outside a step = %d, want 1", got)
	}
	h := step.Func(func(ctx context.Context, _ struct{}) (int, error) {
		if err := oms.Email(ctx, "ada@example.com", "hello", "ord-1", map[string]any{"n": 1}); err != nil {
			return 0, err
		}
		if err := oms.Publish(ctx, oms.TopicOrderEvents, "Hello", "ord-1", nil); err != nil {
			return 0, err
		}
		return oms.Attempt(ctx), nil
	})
	res, err := h.Handle(context.Background(), step.Request{Attempt: 3})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Output) != "3" {
		t.Errorf("attempt = %s, want 3", res.Output)
	}
	if len(res.Effects) != 2 {
		t.Fatalf("effects = %+v", res.Effects)
	}
	var p oms.EmailPayload
	if err := json.Unmarshal(res.Effects[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if res.Effects[0].Kind != "email" || res.Effects[0].Target != "ada@example.com" || p.Template != "hello" || p.OrderID != "ord-1" {
		t.Errorf("email = %+v %+v", res.Effects[0], p)
	}
	if e := res.Effects[1]; e.Kind != "publish" || e.Target != "order-events" || string(e.Payload) != `{"type":"Hello","orderId":"ord-1"}` {
		t.Errorf("publish = %+v (%s)", e, e.Payload)
	}
}

func TestSetState(t *testing.T) {
	t.Parallel()
	if err := oms.SetState(context.Background(), map[string]any{"a": 1}); err != nil {
		t.Errorf("outside a step: %v, want a no-op", err)
	}
	h := step.Func(func(ctx context.Context, _ struct{}) (bool, error) {
		if err := oms.SetState(ctx, func() {}); !step.IsTerminal(err) {
			t.Errorf("unencodable patch: err = %v, want terminal", err)
		}
		return true, oms.SetState(ctx, map[string]any{"a": 1})
	})
	res, err := h.Handle(context.Background(), step.Request{})
	if err != nil || string(res.State) != `{"a":1}` {
		t.Errorf("state = %s, %v", res.State, err)
	}
}
