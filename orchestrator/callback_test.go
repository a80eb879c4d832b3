package orchestrator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// asyncDef waits on one async step that declares email effects.
var asyncDef = workflow.New("asyncwf",
	workflow.Key("input.id"),
	workflow.Step("approve", "fapprove", workflow.Async(), workflow.Timeout(time.Minute), workflow.Effects("email")),
).MustBuild()

// startAsync starts asyncwf/<id> and returns the token its step received.
func startAsync(t *testing.T, ctx context.Context, opts ...orchestrator.Option) (*orchestrator.Engine, journal.Store, string, string) {
	t.Helper()
	store := memjournal.New()
	tokens := make(chan string, 1)
	e := newEngine(t, store, handlers(map[string]step.HandlerFunc{
		"fapprove": func(_ context.Context, req step.Request) (step.Result, error) {
			tokens <- req.Token
			return step.Result{}, nil
		},
	}), asyncDef, opts...)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "asyncwf", Input: json.RawMessage(`{"id":"a-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	return e, store, st.Run, <-tokens
}

func TestCallbackForgedTokenRefused(t *testing.T) {
	ctx := testContext(t)
	e, store, run, _ := startAsync(t, ctx)
	_, before := load(t, store, run)
	other, _ := callback.NewKey()
	stranger, _ := callback.NewKeyring(other)
	for name, token := range map[string]string{
		// The attack: the old unsigned format, base64url(run \0 step \0 attempt).
		"unsigned":         base64.RawURLEncoding.EncodeToString([]byte(run + "\x00approve\x001")),
		"another key":      stranger.Sign(callback.Claims{Run: run, Step: "approve", Attempt: 1}),
		"garbage":          "zzzz",
		"signature of run": "eA." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`{"by":"forged"}`)}})
			if !errors.Is(err, orchestrator.ErrBadInput) {
				t.Fatalf("Complete(forged) = %v, want ErrBadInput", err)
			}
			if err := e.Heartbeat(ctx, token); !errors.Is(err, orchestrator.ErrBadInput) {
				t.Fatalf("Heartbeat(forged) = %v, want ErrBadInput", err)
			}
		})
	}
	if _, after := load(t, store, run); len(after) != len(before) {
		t.Fatalf("forged completions journaled %d events", len(after)-len(before))
	}
}

func TestCallbackTokenVoidOnceAttemptEnds(t *testing.T) {
	ctx := testContext(t)
	e, _, run, token := startAsync(t, ctx)
	if _, err := e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`"ok"`)}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`"again"`)}})
	if !errors.Is(err, orchestrator.ErrNotAwaited) || !strings.Contains(err.Error(), "void") {
		t.Fatalf("second Complete = %v, want ErrNotAwaited saying the token is void", err)
	}
	if out := driveToEnd(t, ctx, e, run); out.Status != journal.StatusCompleted {
		t.Fatalf("status %s", out.Status)
	}
}

func TestCallbackTokenSurvivesRestartWithSharedKey(t *testing.T) {
	ctx := testContext(t)
	k, _ := callback.NewKey()
	ring, _ := callback.NewKeyring(k)
	_, store, run, token := startAsync(t, ctx, orchestrator.WithCallbackKeys(ring))
	// A second engine on the same journal and key (another Lambda, a restart).
	e2 := newEngine(t, store, handlers(nil), asyncDef, orchestrator.WithCallbackKeys(ring))
	if _, err := e2.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`"ok"`)}}); err != nil {
		t.Fatal(err)
	}
	// An engine with a key of its own refuses it.
	own, _ := callback.NewKey()
	ownRing, _ := callback.NewKeyring(own)
	e3 := newEngine(t, store, handlers(nil), asyncDef, orchestrator.WithCallbackKeys(ownRing))
	if err := e3.Heartbeat(ctx, token); !errors.Is(err, orchestrator.ErrBadInput) {
		t.Fatalf("Heartbeat on another key = %v", err)
	}
	_ = run
}

func TestCallbackCompletionCannotAddUndeclaredEffects(t *testing.T) {
	ctx := testContext(t)
	e, store, run, token := startAsync(t, ctx)
	_, before := load(t, store, run)
	// The attack seen: an http effect to the metadata service, carried by a callback.
	_, err := e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`{}`),
		Effects: []step.Effect{{Kind: "email", Target: "a@example.com"},
			{Kind: "http", Target: "http://169.254.169.254/latest/meta-data/"}}}})
	if !errors.Is(err, orchestrator.ErrBadInput) || !strings.Contains(err.Error(), `"http"`) {
		t.Fatalf("Complete with an undeclared effect = %v, want ErrBadInput naming http", err)
	}
	if _, after := load(t, store, run); len(after) != len(before) {
		t.Fatalf("a refused completion journaled %d events", len(after)-len(before))
	}
	// Declared kinds pass, and the token still works after the refusal.
	_, err = e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`{}`),
		Effects: []step.Effect{{Kind: "email", Target: "a@example.com"}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCallbackCompletionCannotPatchState(t *testing.T) {
	ctx := testContext(t)
	e, store, run, token := startAsync(t, ctx)
	_, before := load(t, store, run)
	_, err := e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`{"ok":true}`),
		State: json.RawMessage(`{"approvedBy":"forged","limit":1000000}`)}})
	if !errors.Is(err, orchestrator.ErrBadInput) || !strings.Contains(err.Error(), "output only") {
		t.Fatalf("Complete with a state patch = %v, want ErrBadInput saying a completion carries an output only", err)
	}
	if _, after := load(t, store, run); len(after) != len(before) {
		t.Fatalf("a refused completion journaled %d events", len(after)-len(before))
	}
	if _, err := e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`{"ok":true}`)}}); err != nil {
		t.Fatalf("the token no longer works after the refusal: %v", err)
	}
}
