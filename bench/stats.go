package bench

import (
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0-100) of ds, nearest rank.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Latencies summarises a set of durations.
type Latencies struct {
	P50, P95, P99 time.Duration
}

// Summarise returns the p50, p95 and p99 of ds.
func Summarise(ds []time.Duration) Latencies {
	return Latencies{Percentile(ds, 50), Percentile(ds, 95), Percentile(ds, 99)}
}
