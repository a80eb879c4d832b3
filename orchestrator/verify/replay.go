package verify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Drift is where a definition decides otherwise than a run's journal.
type Drift struct {
	Run string `json:"run"`
	// Commit is the journal commit, Event the 1-based position in the run
	// of the first event that differs (of the event that would follow the
	// commit's last, when the definition decides more).
	Commit int64 `json:"commit"`
	Event  int   `json:"event"`
	// Recorded is what the journal holds there, Decided what the
	// definition decides; either may be nil.
	Recorded *journal.Event `json:"recorded,omitempty"`
	Decided  *journal.Event `json:"decided,omitempty"`
	// Reason says why, in words.
	Reason string `json:"reason"`
}

func (d *Drift) Error() string {
	return fmt.Sprintf("run %s diverges at event %d (commit %d): %s", d.Run, d.Event, d.Commit, d.Reason)
}

// Unwrap makes a Drift match ErrDrift.
func (d *Drift) Unwrap() error { return ErrDrift }

// Replay checks that def decides rec's run the way its journal records:
// it re-folds the journal commit by commit and, at each decision the
// engine made, compares the events def decides with those journaled. The
// run's own definition tells what part of each commit was decided (the
// rest: step results, events, operator commands, came from outside). It
// returns a *Drift (ErrDrift) at the first difference, ErrNoDefinition
// when the recording lacks the run's own definition, and ErrCorrupt when
// the journal does not fold under it.
func Replay(rec *Recording, def *workflow.Definition, opts ...ReplayOption) error {
	var cfg replayConfig
	for _, o := range opts {
		o(&cfg)
	}
	own, err := rec.RecordedDefinition()
	if err != nil {
		return err
	}
	var history []journal.Event
	pos := 0 // events before the current commit
	for _, c := range rec.Commits {
		split, now, ok, err := decisionPoint(own, history, c.Events, replayConfig{})
		if err != nil {
			return fmt.Errorf("%w: run %s commit %d: %w", ErrCorrupt, rec.Run.ID, c.Seq, err)
		}
		if ok {
			if d := compareDecision(rec, def, history, c, split, now, pos, cfg); d != nil {
				return d
			}
		}
		history = append(history, c.Events...)
		pos += len(c.Events)
	}
	return nil
}

// decisionPoint finds where in commit the engine's decision begins: the
// smallest k such that deciding after history+commit[:k] gives exactly
// commit[k:]. ok is false for a commit no decision accounts for (effect
// outcomes written while a timer was due, say): it is not compared.
func decisionPoint(def *workflow.Definition, history, commit []journal.Event, cfg replayConfig) (int, time.Time, bool, error) {
	for k := 0; k <= len(commit); k++ {
		now := commit[len(commit)-1].At
		if k < len(commit) {
			now = commit[k].At
		}
		prefix := append(append([]journal.Event(nil), history...), commit[:k]...)
		d, err := orchestrator.Decide(def, prefix, now)
		if err != nil {
			return 0, time.Time{}, false, err
		}
		if cfg.firstDifference(commit[k:], d.Events) < 0 {
			return k, now, true, nil
		}
	}
	return 0, time.Time{}, false, nil
}

func compareDecision(rec *Recording, def *workflow.Definition, history []journal.Event, c Commit,
	split int, now time.Time, pos int, cfg replayConfig) *Drift {
	prefix := append(append([]journal.Event(nil), history...), c.Events[:split]...)
	drift := &Drift{Run: rec.Run.ID, Commit: c.Seq}
	d, err := orchestrator.Decide(def, prefix, now)
	if err != nil {
		drift.Event = pos + 1
		drift.Reason = fmt.Sprintf("the journal up to commit %d does not fold under %s: %v", c.Seq, defName(def), err)
		return drift
	}
	recorded := c.Events[split:]
	i := cfg.firstDifference(recorded, d.Events)
	if i < 0 {
		return nil
	}
	drift.Event = pos + split + i + 1
	if i < len(recorded) {
		drift.Recorded = &recorded[i]
	}
	if i < len(d.Events) {
		drift.Decided = &d.Events[i]
	}
	drift.Reason = cfg.explain(def, drift.Recorded, drift.Decided)
	return drift
}

// ReplayOption configures Replay.
type ReplayOption func(*replayConfig)

type replayConfig struct{ ignore []string }

// Ignoring leaves event fields out of the comparison, by their JSON names
// ("due": retry and timer times, when only a policy's intervals changed;
// "input": step inputs).
func Ignoring(fields ...string) ReplayOption {
	return func(c *replayConfig) { c.ignore = append(c.ignore, fields...) }
}

// firstDifference returns the index of the first event that differs
// between a and b (-1: none).
func (c replayConfig) firstDifference(a, b []journal.Event) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || len(c.fieldsDiffering(a[i], b[i])) > 0 {
			return i
		}
	}
	return -1
}

// fieldsDiffering names the fields in which two events differ (their
// commit numbers and ignored fields aside).
func (c replayConfig) fieldsDiffering(a, b journal.Event) []string {
	var out []string
	for _, d := range c.diffs(a, b) {
		field, _, _ := strings.Cut(d.Path, ".")
		field, _, _ = strings.Cut(field, "[")
		if len(out) == 0 || out[len(out)-1] != field {
			out = append(out, field)
		}
	}
	return out
}

func (c replayConfig) diffs(a, b journal.Event) []Diff {
	x, y := eventDoc(a), eventDoc(b)
	for _, f := range c.ignore {
		delete(x.(map[string]any), f)
		delete(y.(map[string]any), f)
	}
	return diffJSON("", x, y, nil)
}

func eventDoc(e journal.Event) any {
	e.Seq = 0
	e.At = e.At.UTC()
	e.Due = e.Due.UTC()
	b, _ := json.Marshal(e)
	v, _ := decode(b)
	return v
}

func (c replayConfig) explain(def *workflow.Definition, rec, dec *journal.Event) string {
	name := defName(def)
	switch {
	case rec != nil && rec.Step != "" && def.Step(rec.Step) == nil:
		return fmt.Sprintf("the journal records %s, but step %q is not in %s", describe(rec), rec.Step, name)
	case dec == nil:
		return fmt.Sprintf("the journal records %s; %s decides nothing more here", describe(rec), name)
	case rec == nil:
		return fmt.Sprintf("%s also decides %s, which the journal does not record", name, describe(dec))
	case rec.Kind != dec.Kind || rec.Step != dec.Step:
		return fmt.Sprintf("the journal records %s; %s decides %s", describe(rec), name, describe(dec))
	}
	var diffs []string
	for i, d := range c.diffs(*rec, *dec) {
		if i == 3 {
			diffs = append(diffs, "...")
			break
		}
		diffs = append(diffs, fmt.Sprintf("%s %s -> %s", d.Path, orAbsent(d.Recorded), orAbsent(d.Got)))
	}
	return fmt.Sprintf("the journal records %s; %s decides it with a different %s (%s)", describe(rec), name,
		strings.Join(c.fieldsDiffering(*rec, *dec), ", "), strings.Join(diffs, "; "))
}

func describe(e *journal.Event) string {
	s := string(e.Kind)
	if e.Step != "" {
		s += " " + e.Step
		if e.Index > 0 {
			s += "#" + strconv.Itoa(e.Index)
		}
		if e.Compensation {
			s += "~"
		}
		s += " attempt " + strconv.Itoa(e.Attempt)
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

func defName(d *workflow.Definition) string {
	return fmt.Sprintf("definition %s@%s", d.Name, d.Version)
}
