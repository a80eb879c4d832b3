package sensitive_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
)

// An envelope's key with a value that is not "[redacted]", in JSON or in
// JSON quoted in a string.
var unredacted = regexp.MustCompile(`"\$ordo\.enc"\s*:\s*"([^\[]|$)|\\"\$ordo\.enc\\"\s*:\s*\\"([^\[]|$)`)

// FuzzRedact checks that no envelope survives Redact in any text, that
// Redact is idempotent, and that parsing and opening arbitrary envelope
// strings never panics and fails with ErrMalformed or ErrKey.
func FuzzRedact(f *testing.F) {
	keys := localkey.Random()
	sealed, _ := keys.Seal(context.Background(), []byte(`"4242424242424242"`))
	for _, s := range []string{
		`{"card":{"$ordo.enc":"` + sealed + `"}}`,
		"{\n  \"$ordo.enc\": \"" + sealed + "\"\n}",
		`{"m":"{\"$ordo.enc\":\"` + sealed + `\"}"}`,
		`{"$ordo.enc":"v1:k:AAAA","x":1}`, sealed, "v1::", "plain",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := sensitive.RedactText(s)
		if unredacted.MatchString(r) {
			t.Fatalf("Redact(%q) = %q still holds an envelope", s, r)
		}
		if again := sensitive.RedactText(r); again != r {
			t.Fatalf("Redact is not idempotent: %q then %q", r, again)
		}
		_, _ = sensitive.ParseEnvelope(s)
		_, _ = keys.Open(context.Background(), s)
	})
}
