package cli

import (
	"context"
	"net/http"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/observe/prom"
)

// observed wraps store so the Env's observers see its commits.
func (g *Env) observed(store *sqlitejournal.Store) journal.Store {
	observers := g.observers
	if g.metrics != nil {
		// Steps scheduled before a restart are timed from the journal.
		observers = append(observers[:len(observers):len(observers)], observe.NewTally(g.metrics, observe.WithJournal(store)))
	}
	if len(observers) == 0 {
		return store
	}
	return observe.Wrap(store, observers...)
}

// prometheus makes the runtime Open starts report to Prometheus collectors
// (runs, steps, retries, effects; runs per status read from the journal at
// each scrape), and returns them.
func (g *Env) prometheus() *prom.Prometheus {
	p := prom.New()
	g.metrics = p
	return p
}

// withMetrics serves p at /metrics and everything else with h.
func withMetrics(p *prom.Prometheus, h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.Handler())
	mux.Handle("/", p.CountRequests(h))
	return mux
}

// runsGauge adds the runs-per-status gauge when the journal counts runs in
// one query.
func runsGauge(p *prom.Prometheus, store journal.Store) {
	if c, ok := store.(api.StatusCounter); ok {
		p.RunsByStatus(func(ctx context.Context) (map[journal.Status]int, error) {
			return c.CountRuns(ctx, journal.Query{})
		})
	}
}
