// Package prom serves ordo's metrics to Prometheus: an observe.Metrics
// whose collectors count runs started and ended, step latencies, retries
// and effect outcomes, and gauge the runs per status. It is apart from
// package observe so the Lambdas, which write EMF, do not link it.
package prom

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/observe"
)

// Prometheus is observe.Metrics as Prometheus collectors, on its own registry
// (with the Go and process collectors).
type Prometheus struct {
	reg      *prometheus.Registry
	started  *prometheus.CounterVec
	ended    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	effects  *prometheus.CounterVec
	requests *prometheus.CounterVec
}

// New returns the collectors, registered.
func New() *Prometheus {
	p := &Prometheus{
		reg: prometheus.NewRegistry(),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordo_runs_started_total",
			Help: "Runs started."}, []string{"workflow"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordo_runs_ended_total",
			Help: "Runs that completed, failed, were cancelled or went to review."}, []string{"workflow", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ordo_step_duration_seconds",
			Help:    "Step attempts from scheduled to result, as journaled.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"workflow", "step", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordo_step_retries_total",
			Help: "Step retries scheduled."}, []string{"workflow", "step"}),
		effects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordo_effects_total",
			Help: "Effect outcomes journaled."}, []string{"workflow", "outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordo_ui_api_requests_total",
			Help: "API calls the UI served or forwarded, by method and status code."}, []string{"method", "code"}),
	}
	p.reg.MustRegister(p.started, p.ended, p.latency, p.retries, p.effects, p.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

// RunStarted implements observe.Metrics.
func (p *Prometheus) RunStarted(wf string) { p.started.WithLabelValues(wf).Inc() }

// RunEnded implements observe.Metrics.
func (p *Prometheus) RunEnded(wf string, st journal.Status) {
	p.ended.WithLabelValues(wf, string(st)).Inc()
}

// StepFinished implements observe.Metrics.
func (p *Prometheus) StepFinished(wf, step string, ok bool, took time.Duration) {
	outcome := "succeeded"
	if !ok {
		outcome = "failed"
	}
	p.latency.WithLabelValues(wf, step, outcome).Observe(took.Seconds())
}

// Retry implements observe.Metrics.
func (p *Prometheus) Retry(wf, step string) { p.retries.WithLabelValues(wf, step).Inc() }

// Effect implements observe.Metrics.
func (p *Prometheus) Effect(wf, outcome string) { p.effects.WithLabelValues(wf, outcome).Inc() }

// RunsByStatus adds a gauge of the runs per status, read from count at
// each scrape (e.g. the SQLite journal's CountRuns).
func (p *Prometheus) RunsByStatus(count func(ctx context.Context) (map[journal.Status]int, error)) {
	p.reg.MustRegister(&statusGauge{count: count,
		desc: prometheus.NewDesc("ordo_runs", "Runs in the journal per status.", []string{"status"}, nil)})
}

// Handler serves the registry in the Prometheus exposition format.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg})
}

// CountRequests wraps h, counting its requests by method and status.
func (p *Prometheus) CountRequests(h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(p.requests, h)
}

type statusGauge struct {
	count func(ctx context.Context) (map[journal.Status]int, error)
	desc  *prometheus.Desc
}

func (g *statusGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *statusGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := g.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(g.desc, err)
		return
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(n), string(st))
	}
}

var _ observe.Metrics = (*Prometheus)(nil)
