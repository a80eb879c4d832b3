package observe_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/observe"
)

func TestEMFFromARealRun(t *testing.T) {
	m := observe.NewEMF()
	rt := runtime(t, observe.NewTally(m))
	drive(t, rt, `{"id":"ok"}`, journal.StatusCompleted)
	drive(t, rt, `{"id":"bad","bad":true}`, journal.StatusReview)

	var out bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := m.Flush(&out, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want one for the workflow:\n%s", len(lines), out.String())
	}
	var line struct {
		Workflow                                   string
		RunsStarted, RunsCompleted, RunsInReview   int
		StepRetries, StepsFailed, EffectsSucceeded int
		StepLatency                                []float64
		AWS                                        struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line.Workflow != "ship" || line.RunsStarted != 2 || line.RunsCompleted != 1 || line.RunsInReview != 1 ||
		line.StepRetries != 1 || line.StepsFailed != 2 || line.EffectsSucceeded != 2 || len(line.StepLatency) != 5 {
		t.Errorf("line: %s", lines[0])
	}
	cw := line.AWS.CloudWatchMetrics
	if line.AWS.Timestamp != now.UnixMilli() || len(cw) != 1 || cw[0].Namespace != "ordo" || cw[0].Dimensions[0][0] != "Workflow" || len(cw[0].Metrics) != 7 {
		t.Errorf("_aws: %+v", line.AWS)
	}
	// Flush resets: nothing more to write.
	out.Reset()
	m.Flush(&out, now)
	if out.Len() != 0 {
		t.Errorf("second flush wrote %q", out.String())
	}
}

func TestEMFSplitsLatenciesByHundred(t *testing.T) {
	m := observe.NewEMF()
	for range 250 {
		m.StepFinished("w", "s", true, time.Millisecond)
	}
	var out bytes.Buffer
	m.Flush(&out, time.Now())
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Errorf("%d lines for 250 latencies, want 3 (EMF takes 100 values per metric)", n)
	}
}
