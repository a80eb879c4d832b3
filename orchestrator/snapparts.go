package orchestrator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// Snapshot parts and lazy states. A state decoded from a snapshot leaves
// the values kept in parts unresolved: the run's input (inputLazy) and
// the payload of steps that succeeded (stepState.lazy: input, output, map
// items, and the output expressions read). Most decisions read none of
// them (a result, an event, a timer, the run's completion without an
// output expression), so a cold drive costs the size of the rest, not of
// the run.
//
// Decide stays pure: it never loads a part. A decision that would read an
// unresolved value marks the state (missed); the engine decides on a copy
// of a lazy state (decideLazy), keeps the copy when nothing was missed,
// and otherwise resolves the parts through the journal and decides again
// on the resolved state. Events are applied to a lazy state only when
// they do not touch an unresolved value (touchesLazy); the engine
// resolves first otherwise.

// partMin is the size from which the engine keeps a value in a part.
const partMin = 2 << 10

// lazyCloneMax bounds the map items a lazy state may hold in its core for
// the engine to decide on a copy of it: a state that large costs its size
// to copy, and the engine resolves it instead.
const lazyCloneMax = 2000

// need says which unresolved values a decision needed.
type need uint8

const (
	needInput    need = 1 << iota // the run's input
	needPayloads                  // the payloads of steps that succeeded
	needAll      = needInput | needPayloads
)

// snapPayload is a step's payload as a part holds it.
type snapPayload struct {
	Input    json.RawMessage `json:"input,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"`
	Items    []snapItem      `json:"items,omitempty"`
	HasItems bool            `json:"hasItems,omitempty"`
}

// partKey names a part by its content.
func partKey(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// encodeInput returns the run's input as a snapshot holds it: inline, or
// the key of the part that holds it (put once).
func (rs *RunState) encodeInput(put func(string, []byte) error, minPart int) (json.RawMessage, string, error) {
	switch {
	case rs.inputLazy:
		return nil, rs.inputPart, nil
	case put == nil || len(rs.inputJSON) < max(minPart, 1):
		return rs.inputJSON, "", nil
	case rs.inputPart == "":
		key := partKey(rs.inputJSON)
		if err := put(key, rs.inputJSON); err != nil {
			return nil, "", fmt.Errorf("run input: %w", err)
		}
		rs.inputPart = key
	}
	return nil, rs.inputPart, nil
}

// encodeStepPart encodes st, its payload in a part when st succeeded and
// the payload is at least minPart bytes (put once).
// A step whose input is the run's refers to it (InputRun) when the
// snapshot holds the run's input as a part (inputParted).
func (rs *RunState) encodeStepPart(st *stepState, put func(string, []byte) error, minPart int, inputParted bool) (snapStep, error) {
	if st.lazy {
		ss := encodeStep(st) // no payload: it is in the part
		ss.Part = st.part
		return ss, nil
	}
	ss := encodeStep(st)
	if st.inputRun || inputParted && len(st.input) > 0 && bytes.Equal(st.input, rs.inputJSON) {
		// The run's input, which the snapshot holds once (in its part).
		ss.Input, ss.InputRun = nil, true
	}
	if put == nil || st.phase != PhaseSucceeded || st.inputRun {
		return ss, nil
	}
	if st.part == "" {
		ss.Input = st.input // the payload holds its input
		size := len(st.input) + len(st.output)
		for _, it := range st.items {
			size += len(it.input) + len(it.output)
		}
		if size < max(minPart, 1) {
			return ss, nil
		}
		data, err := json.Marshal(snapPayload{Input: ss.Input, Output: ss.Output, Items: ss.Items, HasItems: ss.HasItems})
		if err != nil {
			return ss, err
		}
		key := partKey(data)
		if err := put(key, data); err != nil {
			return ss, fmt.Errorf("payload of step %s: %w", rs.def.Steps[st.idx].Name, err)
		}
		st.part = key
	}
	ss.Part, ss.Input, ss.InputRun, ss.Output, ss.Items, ss.HasItems = st.part, nil, false, nil, nil, false
	return ss, nil
}

// hasLazy reports whether a value of rs is not resolved yet.
func (rs *RunState) hasLazy() bool {
	return rs.inputLazy || slices.ContainsFunc(rs.steps, func(s *stepState) bool { return s.lazy || s.inputRun })
}

// runInput is the run's input as journaled (a decision that reads it
// while it is unresolved is marked).
func (rs *RunState) runInput() json.RawMessage {
	if rs.inputLazy {
		rs.missed |= needInput
	}
	return rs.inputJSON
}

// stepInput is s's input (a decision that reads it while it is the run's
// input, unresolved, is marked).
func (rs *RunState) stepInput(s *stepState) json.RawMessage {
	if s.inputRun {
		rs.missed |= needInput
	}
	return s.input
}

// touchesLazy reports whether applying e would read or change an
// unresolved value: an event about a step whose payload is apart, or a
// resubmission.
func (rs *RunState) touchesLazy(e *journal.Event) bool {
	if !rs.hasLazy() {
		return false
	}
	if e.Kind == journal.Resubmitted {
		return true
	}
	s, ok := rs.byName[e.Step]
	return ok && s.lazy
}

// resolve loads the unresolved values n names with get (a part's data by
// key). On error rs is left partly resolved, still consistent.
func (rs *RunState) resolve(get func(key string) ([]byte, error), n need) error {
	if n&needInput != 0 && rs.inputLazy {
		data, err := get(rs.inputPart)
		if err != nil {
			return fmt.Errorf("run input: %w", err)
		}
		if !json.Valid(data) {
			return fmt.Errorf("%w: run input part %s is not JSON", errSnapshot, rs.inputPart)
		}
		rs.inputJSON, rs.input, rs.inputDecoded, rs.inputLazy = data, nil, false, false
		for _, st := range rs.steps {
			if st.inputRun {
				st.input, st.inputRun = data, false
			}
		}
	}
	if n&needPayloads == 0 {
		return nil
	}
	for i, st := range rs.steps {
		if !st.lazy {
			continue
		}
		name := rs.def.Steps[i].Name
		data, err := get(st.part)
		if err != nil {
			return fmt.Errorf("payload of step %s: %w", name, err)
		}
		var p snapPayload
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("%w: payload of step %s: %v", errSnapshot, name, err)
		}
		if len(p.Output) > 0 && !json.Valid(p.Output) {
			return fmt.Errorf("%w: output of step %s is not JSON", errSnapshot, name)
		}
		full := decodeStep(snapStep{Input: p.Input, Output: p.Output, Items: p.Items, HasItems: p.HasItems})
		st.input, st.output, st.items, st.lazy = full.input, full.output, full.items, false
		delete(rs.outputs, name)
		rs.undecoded[name] = st.output // a step that succeeded: its output is what expressions read
	}
	return nil
}

// decideLazy decides on a copy of rs, a state with unresolved values. It
// keeps the copy's outcome (rs becomes the copy) when the decision read
// none of them; otherwise rs is unchanged, and it returns which values
// the decision needs: the caller resolves them and decides again.
func (rs *RunState) decideLazy(now time.Time) (Decision, need) {
	items := 0
	for _, s := range rs.steps {
		items += len(s.items)
	}
	if items > lazyCloneMax {
		return Decision{}, needAll
	}
	c := rs.clone()
	c.missed = 0
	d := c.Decide(now)
	if c.missed != 0 {
		return Decision{}, c.missed
	}
	*rs = *c
	return d, 0
}

// clone returns a copy of rs that shares nothing Apply or Decide change
// in place (journaled JSON is never changed in place, and is shared).
func (rs *RunState) clone() *RunState {
	c := *rs
	c.byName = make(map[string]*stepState, len(rs.byName))
	c.steps = make([]*stepState, len(rs.steps))
	for i, s := range rs.steps {
		c.steps[i] = s.clone()
		c.byName[rs.def.Steps[i].Name] = c.steps[i]
	}
	if rs.comp != nil {
		c.comp = rs.comp.clone()
	}
	c.outstanding = slices.Clone(rs.outstanding)
	c.state = cloneDoc(rs.state)
	c.outputs = maps.Clone(rs.outputs)
	c.undecoded = maps.Clone(rs.undecoded)
	c.dirty = maps.Clone(rs.dirty)
	c.timers = maps.Clone(rs.timers)
	c.inflight = maps.Clone(rs.inflight)
	c.leases = maps.Clone(rs.leases)
	c.undispatched = slices.Clone(rs.undispatched)
	c.signals = make(map[string][]signalRec, len(rs.signals))
	for name, recs := range rs.signals {
		c.signals[name] = slices.Clone(recs)
	}
	c.compStack = slices.Clone(rs.compStack)
	return &c
}

func (s *stepState) clone() *stepState {
	c := *s
	c.items = slices.Clone(s.items)
	c.itemFailed = slices.Clone(s.itemFailed)
	if s.failure != nil {
		f := *s.failure
		c.failure = &f
	}
	return &c
}

// cloneDoc copies a state document: mergePatch changes its objects in
// place (lists and scalars it replaces).
func cloneDoc(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		if o, ok := v.(map[string]any); ok {
			v = cloneDoc(o)
		}
		c[k] = v
	}
	return c
}
