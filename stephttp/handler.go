package stephttp

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ordoflow/ordo/orchestrator/step"
)

// Handler serves h over HTTP: each POST carries one step.Request and is
// answered 200 with its step.Response (failures included, as the protocol
// says). A body that is not a step.Request is answered 400.
func Handler(h step.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST a step request", http.StatusMethodNotAllowed)
			return
		}
		var req step.Request
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			http.Error(w, fmt.Sprintf("not a step request: %v", err), http.StatusBadRequest)
			return
		}
		resp := step.Invoke(r.Context(), h, req)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
}
