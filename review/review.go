// Package review resolves the review items that are not runs: triggers
// that could not be decoded (journal.ReviewMalformedTrigger) and effects
// that failed on their last delivery (journal.ReviewFailedEffect). The API
// (GET /v1/review, POST /v1/review/{id}/resolve) and the CLI (`ordo review
// list|show|resolve`) both go through Resolve.
//
// Runs in review are not review items: they are listed by status
// (`ordo runs --status review`) and resolved by resubmitting or cancelling
// them.
//
// # Errors
//
//	situation                                          error
//	-------------------------------------------------  -------------------------------
//	no item with the id                                journal.ErrNotFound
//	the item is resolved already                       journal.ErrConflict
//	an action the item's kind does not allow           ErrBadAction
//	the platform refused the redelivery                the Redeliverer's error; the
//	                                                   item is open again
package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// ErrBadAction is returned for an action the item's kind does not allow.
var ErrBadAction = errors.New("review: action not allowed")

// Actions an operator takes on a review item. Discard closes any item;
// Resubmit hands a malformed trigger (its body, or an edited one) to the
// orchestrator again; Redispatch sends a failed effect to the effects
// executor again.
const (
	Discard    = "discard"
	Resubmit   = "resubmit"
	Redispatch = "redispatch"
)

// Redeliverer hands what a review item holds back to the platform: the
// effects queue and orchestrator queue in AWS, the embedded runtime
// locally.
type Redeliverer interface {
	// Redispatch sends effect e of run to the effects executor again (it
	// de-duplicates by e.ID, so a success already journaled is not redone).
	Redispatch(ctx context.Context, run string, e journal.Effect) error
	// Redeliver processes body as if it came again from channel source with
	// the trigger id trigger.
	Redeliver(ctx context.Context, source, trigger string, body json.RawMessage) error
}

// Request asks for an item to be resolved.
type Request struct {
	ID string
	// Action is Discard, Resubmit or Redispatch; empty means Redispatch for
	// a failed effect (a malformed trigger needs an explicit one).
	Action string
	By     string
	Note   string
	// Body replaces a malformed trigger's body on Resubmit (JSON).
	Body json.RawMessage
}

// allowed maps each kind to the actions it allows, the default first.
var allowed = map[journal.ReviewKind][]string{
	journal.ReviewFailedEffect:     {Redispatch, Discard},
	journal.ReviewMalformedTrigger: {"", Resubmit, Discard},
}

// resolutions maps an action to the resolution journaled.
var resolutions = map[string]string{
	Discard:    journal.ResolutionDiscarded,
	Resubmit:   journal.ResolutionResubmitted,
	Redispatch: journal.ResolutionRedispatched,
}

// Resolve closes the item req names and carries out its action. The item
// is marked resolved first, so two operators never both redeliver it; if
// the redelivery then fails, the item is opened again and the error
// returned.
func Resolve(ctx context.Context, reviews journal.Reviews, r Redeliverer, req Request, now time.Time) (journal.ReviewItem, error) {
	it, err := reviews.Review(ctx, req.ID)
	if err != nil {
		return it, err
	}
	action, err := checkAction(it, req)
	if err != nil {
		return it, err
	}
	original := it
	it, err = reviews.ResolveReview(ctx, req.ID, journal.Resolution{Action: resolutions[action], By: req.By, Note: req.Note, At: now})
	if err != nil {
		return it, err
	}
	if err := redeliver(ctx, r, it, action, req.Body); err != nil {
		if _, rerr := reviews.PutReview(context.WithoutCancel(ctx), original); rerr != nil {
			return it, fmt.Errorf("%s %s: %w (and the item could not be reopened: %w)", action, req.ID, err, rerr)
		}
		return original, fmt.Errorf("%s %s: %w (the item is open again)", action, req.ID, err)
	}
	return it, nil
}

func checkAction(it journal.ReviewItem, req Request) (string, error) {
	acts := allowed[it.Kind]
	action := req.Action
	if action == "" && len(acts) > 0 {
		action = acts[0]
	}
	var valid []string
	ok := false
	for _, a := range acts {
		if a != "" {
			valid = append(valid, a)
			ok = ok || a == action
		}
	}
	switch {
	case !ok && action == "":
		return "", fmt.Errorf("%w: %s is a %s: say %s", ErrBadAction, it.ID, it.Kind, strings.Join(valid, " or "))
	case !ok:
		return "", fmt.Errorf("%w: %s is a %s: %q, want %s", ErrBadAction, it.ID, it.Kind, action, strings.Join(valid, " or "))
	case len(req.Body) > 0 && action != Resubmit:
		return "", fmt.Errorf("%w: a body goes only with %s", ErrBadAction, Resubmit)
	case len(req.Body) > 0 && !json.Valid(req.Body):
		return "", fmt.Errorf("%w: the edited body is not JSON", ErrBadAction)
	}
	return action, nil
}

func redeliver(ctx context.Context, r Redeliverer, it journal.ReviewItem, action string, body json.RawMessage) error {
	switch action {
	case Redispatch:
		var e journal.Effect
		if err := json.Unmarshal(it.Payload, &e); err != nil || e.ID == "" {
			return fmt.Errorf("the item does not hold an effect (%v)", err)
		}
		return r.Redispatch(ctx, it.Run, e)
	case Resubmit:
		if len(body) == 0 {
			body = it.Payload
		}
		trigger := strings.TrimPrefix(it.ID, string(it.Kind)+"/")
		return r.Redeliver(ctx, it.Source, trigger, body)
	}
	return nil
}
