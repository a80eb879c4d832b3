package api

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"
)

// IdempotencyHeader names the request header a client sets to have retried
// starts de-duplicated: starts of one workflow carrying the same value
// start one run.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the header's length.
const maxIdempotencyKey = 200

// startTrigger returns the trigger id of a start request: "api:" and its
// Idempotency-Key, or a new random id when it has none. A workflow without
// a key expression, started without a "key", gets it as its run key, so
// every keyless start is a new run unless the client asks otherwise.
func startTrigger(r *http.Request) (string, error) {
	k := r.Header.Get(IdempotencyHeader)
	if k == "" {
		return "api:" + uuid.NewString(), nil
	}
	if len(k) > maxIdempotencyKey {
		return "", fmt.Errorf("header %s: %d characters, at most %d", IdempotencyHeader, len(k), maxIdempotencyKey)
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("header %s %q: only printable ASCII without spaces", IdempotencyHeader, k)
		}
	}
	return "api:" + k, nil
}
