package callback_test

import (
	"testing"

	"github.com/ordoflow/ordo/orchestrator/callback"
)

// FuzzToken feeds arbitrary strings to the token parser: no panic; what
// Peek accepts signs back to a token naming the same attempt; and no
// string but a genuine token verifies.
func FuzzToken(f *testing.F) {
	ring, err := callback.NewKeyring(callback.Key("fuzz key of at least thirty-two bytes"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ring.Sign(callback.Claims{Run: "order/o-1", Step: "approve", Attempt: 1}))
	f.Add(ring.Sign(callback.Claims{Run: "a/b/c", Step: "s", Attempt: 99}))
	f.Add("YXN5bmN3ZjIvYXN5LTAwMDAwNQBhcHByb3ZlADE") // unsigned, the old format
	f.Add("eA.")
	f.Add(".")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		if c, err := callback.Peek(token); err == nil {
			back, err := callback.Peek(ring.Sign(c))
			if err != nil || back != c {
				t.Fatalf("Peek(Sign(%+v)) = %+v, %v", c, back, err)
			}
		}
		if c, err := ring.Verify(token); err == nil && ring.Sign(c) != token {
			t.Fatalf("%q verified but is not the token of %+v", token, c)
		}
	})
}
