package observe_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/observe"
)

func TestLogHandlerNamesTheWorkflow(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(observe.LogHandler(slog.NewJSONHandler(&buf, nil)))
	log.Info("step failed", "run", "order/o-1", "step", "charge", "attempt", 2)
	log.Info("no run here")
	log.Info("named", "run", "order/o-2", "workflow", "order")
	dec := json.NewDecoder(&buf)
	var lines []map[string]any
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 || lines[0]["workflow"] != "order" || lines[0]["step"] != "charge" || lines[0]["attempt"] != 2.0 {
		t.Errorf("line 1: %v", lines[0])
	}
	if _, ok := lines[1]["workflow"]; ok {
		t.Errorf("a record without a run got a workflow: %v", lines[1])
	}
	if buf := lines[2]; buf["workflow"] != "order" {
		t.Errorf("line 3: %v", buf)
	}
}

func TestLogHandlerNamesAnEffectsStepAndAttempt(t *testing.T) {
	for _, tc := range []struct {
		effect string
		want   map[string]any
	}{
		{"order/o-1/charge/2/0", map[string]any{"workflow": "order", "step": "charge", "attempt": 2.0}},
		{"order/o-1/reserve#7/1/3", map[string]any{"workflow": "order", "step": "reserve", "attempt": 1.0, "index": 7.0}},
		{"order/o-1/charge~/1/0", map[string]any{"workflow": "order", "step": "charge", "attempt": 1.0, "compensation": true}},
		{"not-of-this-run", map[string]any{"workflow": "order"}},
	} {
		var buf bytes.Buffer
		slog.New(observe.LogHandler(slog.NewJSONHandler(&buf, nil))).Info("effect", "run", "order/o-1", "effect", tc.effect)
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"time", "level", "msg", "run", "effect"} {
			delete(got, k)
		}
		if d := cmp.Diff(got, tc.want); d != "" {
			t.Errorf("effect %s (-got +want):\n%s", tc.effect, d)
		}
	}
}
