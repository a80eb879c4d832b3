package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/ordoflow/ordo/orchestrator"
)

// IdempotencyHeader names the request header a client sets to have retried
// starts de-duplicated (starts of one workflow carrying the same value
// start one run) and retried commands applied once (events, resubmits,
// cancels, callback completions).
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

// commandContext returns the Idempotency-Key of a command request (events,
// resubmit, cancel, callback completion), a new random one when it has
// none, and the request's context carrying it as the engine's command id:
// a repeated request with the same key is applied once.
func commandContext(r *http.Request) (string, context.Context, error) {
	trigger, err := startTrigger(r)
	if err != nil {
		return "", nil, err
	}
	return strings.TrimPrefix(trigger, "api:"), orchestrator.WithCommandID(r.Context(), trigger), nil
}

// RetryAfter is the Retry-After (seconds) of a 503 for a command whose run
// could not be scheduled.
const RetryAfter = 1

// notScheduled answers a command or start that was journaled but whose
// run's drive could not be scheduled: 503 with the run, Retry-After, and
// the Idempotency-Key to repeat the request with (the client's own, or the
// one generated for it), which schedules the run again without doubling
// the command.
func notScheduled(w http.ResponseWriter, run, key string, err error) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	w.Header().Set(IdempotencyHeader, key)
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": err.Error(), "run": run, "idempotencyKey": key,
		"retry": "repeat the request with the same " + IdempotencyHeader})
}
