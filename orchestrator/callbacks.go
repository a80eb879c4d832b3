package orchestrator

import (
	"fmt"
	"slices"

	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// WithCallbackKeys sets the keys callback tokens are signed and verified
// with. Default: a random key of this engine's own, so tokens it hands out
// are void once it stops; deployments share a key (package callback).
func WithCallbackKeys(r *callback.Keyring) Option { return func(e *Engine) { e.callbacks = r } }

// ephemeralKeys is the default keyring: a random key no one else holds.
func ephemeralKeys() *callback.Keyring {
	k, err := callback.NewKey()
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	r, _ := callback.NewKeyring(k)
	return r
}

// callbackToken signs the token of an async invocation ("" otherwise):
// Decide names the attempt, the engine signs it.
func (e *Engine) callbackToken(run string, inv Invocation) string {
	if !inv.Async {
		return ""
	}
	return e.callbacks.Sign(callback.Claims{Run: run, Step: inv.Step, Attempt: inv.Attempt})
}

// verifyToken checks token's signature and returns what it names.
func (e *Engine) verifyToken(token string) (callback.Claims, error) {
	c, err := e.callbacks.Verify(token)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return c, nil
}

// declaredEffects refuses effects of kinds step n does not declare.
func declaredEffects(n *workflow.Node, effects []step.Effect) error {
	for i, ef := range effects {
		if n == nil || !slices.Contains(n.Effects, ef.Kind) {
			var declared []string
			if n != nil {
				declared = n.Effects
			}
			return fmt.Errorf("effect %d of kind %q is not declared by the step (effects: %v)", i+1, ef.Kind, declared)
		}
	}
	return nil
}
