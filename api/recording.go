package api

import (
	"net/http"

	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/verify"
)

// recording serves a run as a golden journal (package verify's recording
// format): the file `ordo gen-test` writes to testdata, for the
// visualizer's "regression test" download.
func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	run := orchestrator.RunID(r.PathValue("workflow"), r.PathValue("key"))
	rec, err := verify.Record(r.Context(), s.engine.Store(), run)
	if err != nil {
		writeErr(w, status(err), err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+verify.FileName(run)+`"`)
	writeJSON(w, http.StatusOK, rec)
}
