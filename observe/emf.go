package observe

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// EMF is Metrics as CloudWatch Embedded Metric Format: it accumulates
// between Flush calls (one Lambda invocation) and writes one log line per
// workflow, namespace "ordo", dimension Workflow, which CloudWatch turns
// into metrics without any API call.
type EMF struct {
	mu  sync.Mutex
	per map[string]*emfCounts
}

type emfCounts struct {
	counts  map[string]int
	latency []float64 // milliseconds
}

// emfMaxValues is the most values EMF takes for one metric in one line.
const emfMaxValues = 100

// NewEMF returns an empty EMF.
func NewEMF() *EMF { return &EMF{per: map[string]*emfCounts{}} }

func (m *EMF) add(wf, name string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.of(wf).counts[name] += n
}

func (m *EMF) of(wf string) *emfCounts {
	c := m.per[wf]
	if c == nil {
		c = &emfCounts{counts: map[string]int{}}
		m.per[wf] = c
	}
	return c
}

// RunStarted implements Metrics.
func (m *EMF) RunStarted(wf string) { m.add(wf, "RunsStarted", 1) }

// RunEnded implements Metrics.
func (m *EMF) RunEnded(wf string, st journal.Status) {
	name := map[journal.Status]string{journal.StatusCompleted: "RunsCompleted", journal.StatusFailed: "RunsFailed",
		journal.StatusCancelled: "RunsCancelled", journal.StatusReview: "RunsInReview"}[st]
	if name != "" {
		m.add(wf, name, 1)
	}
}

// StepFinished implements Metrics.
func (m *EMF) StepFinished(wf, _ string, ok bool, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.of(wf)
	c.latency = append(c.latency, float64(took.Microseconds())/1000)
	if !ok {
		c.counts["StepsFailed"]++
	}
}

// Retry implements Metrics.
func (m *EMF) Retry(wf, _ string) { m.add(wf, "StepRetries", 1) }

// Effect implements Metrics.
func (m *EMF) Effect(wf, outcome string) {
	if outcome == "failed" {
		m.add(wf, "EffectsFailed", 1)
		return
	}
	m.add(wf, "EffectsSucceeded", 1)
}

// Flush writes what accumulated since the last Flush and resets it.
func (m *EMF) Flush(w io.Writer, now time.Time) error {
	m.mu.Lock()
	per := m.per
	m.per = map[string]*emfCounts{}
	m.mu.Unlock()
	for _, wf := range slices.Sorted(maps.Keys(per)) {
		c := per[wf]
		for first := true; first || len(c.latency) > 0; first = false {
			n := min(len(c.latency), emfMaxValues)
			if err := writeEMFLine(w, wf, c.counts, c.latency[:n], now); err != nil {
				return err
			}
			c.counts, c.latency = nil, c.latency[n:]
		}
	}
	return nil
}

func writeEMFLine(w io.Writer, wf string, counts map[string]int, latency []float64, now time.Time) error {
	if len(counts) == 0 && len(latency) == 0 {
		return nil
	}
	line := map[string]any{"Workflow": wf}
	var metrics []map[string]string
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		metrics = append(metrics, map[string]string{"Name": name, "Unit": "Count"})
		line[name] = counts[name]
	}
	if len(latency) > 0 {
		metrics = append(metrics, map[string]string{"Name": "StepLatency", "Unit": "Milliseconds"})
		line["StepLatency"] = latency
	}
	return WriteEMF(w, now, "Workflow", metrics, line)
}

// WriteEMF writes line as one CloudWatch Embedded Metric Format record of
// the namespace "ordo": metrics name the values in line (with their
// units) and dimension the field of line they are grouped by.
func WriteEMF(w io.Writer, now time.Time, dimension string, metrics []map[string]string, line map[string]any) error {
	line["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": "ordo", "Dimensions": [][]string{{dimension}}, "Metrics": metrics}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
