package orchestrator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// The snapshot format: a RunState encoded so that decoding it gives a
// state that applies events and decides exactly as the original. It holds
// every field, private ones included; derived values (decoded step
// outputs, the state document) are stored as JSON written so that
// workflow.DecodeJSON reads back the same types (an integral float keeps
// its ".0"); journaled JSON (inputs, outputs, payloads) is embedded as
// is, and the run's input is decoded again on first use.
//
// Large values that no longer change are kept apart, as snapshot parts
// (journal.Snapshots.PutSnapshotPart) named by the hash of their content:
// the run's input and the payload (input, output, map items) of each step
// that succeeded, when they are at least partMin bytes. The snapshot holds
// their keys; decoding leaves them unresolved (see snapparts.go), so a
// cold load reads and decodes only the small rest, and a part once
// written is not written again by later snapshots.
//
// Bump snapshotFormat on any change to what is stored: a snapshot of
// another format is ignored and the run is folded in full.
const snapshotFormat = 3

// errSnapshot marks a snapshot that cannot be used (another format, a
// corrupt one, another definition); the caller folds the run instead.
var errSnapshot = errors.New("orchestrator: unusable snapshot")

type snapRun struct {
	Format        int              `json:"format"`
	Workflow      string           `json:"workflow"`
	DefHash       string           `json:"defHash"`
	Key           string           `json:"key,omitempty"`
	Trigger       string           `json:"trigger,omitempty"`
	Started       time.Time        `json:"started"`
	Input         json.RawMessage  `json:"input,omitempty"`
	InputPart     string           `json:"inputPart,omitempty"`
	Status        journal.Status   `json:"status"`
	Output        json.RawMessage  `json:"output,omitempty"`
	Reason        string           `json:"reason,omitempty"`
	Parent        string           `json:"parent,omitempty"`
	ParentStep    string           `json:"parentStep,omitempty"`
	ParentAttempt int              `json:"parentAttempt,omitempty"`
	Outstanding   []journal.Effect `json:"outstanding,omitempty"`
	Seq           int64            `json:"seq"`
	State         json.RawMessage  `json:"state"`
	// Outputs are the step outputs decoded so far; Undecoded the others
	// (steps whose payload is a part are in neither: their output is).
	Outputs      json.RawMessage            `json:"outputs"`
	Undecoded    map[string]json.RawMessage `json:"undecoded,omitempty"`
	Started2     bool                       `json:"begun"`
	Steps        []snapStep                 `json:"steps"`
	Dirty        []int                      `json:"dirty,omitempty"`
	Timers       []snapFlight               `json:"timers,omitempty"`
	Inflight     []snapFlight               `json:"inflight,omitempty"`
	Leases       []snapFlight               `json:"leases,omitempty"`
	Undispatched []snapEffect               `json:"undispatched,omitempty"`
	Remaining    int                        `json:"remaining"`
	Signals      map[string][]snapSignal    `json:"signals,omitempty"`
	CompStack    []int                      `json:"compStack,omitempty"`
	Comp         *snapStep                  `json:"comp,omitempty"`
	Compensating bool                       `json:"compensating,omitempty"`
	EndStatus    journal.Status             `json:"endStatus,omitempty"`
	Resubmitted  time.Time                  `json:"resubmitted"`
	// Events is how many events the state folds (the snapshot interval
	// grows with it).
	Events int `json:"events"`
}

type snapStep struct {
	// Part is the key of the part that holds the step's payload (Input,
	// Output, Items), which the snapshot then leaves out.
	Part string `json:"part,omitempty"`
	// InputRun: the step's input is the run's (not repeated).
	InputRun      bool            `json:"inputRun,omitempty"`
	Phase         Phase           `json:"phase"`
	Attempt       int             `json:"attempt,omitempty"`
	Due           time.Time       `json:"due"`
	Input         json.RawMessage `json:"input,omitempty"`
	Output        json.RawMessage `json:"output,omitempty"`
	Error         *journal.Error  `json:"error,omitempty"`
	Items         []snapItem      `json:"items,omitempty"`
	HasItems      bool            `json:"hasItems,omitempty"`
	Child         string          `json:"child,omitempty"`
	FailedPending bool            `json:"failedPending,omitempty"`
	Base          int             `json:"base,omitempty"`
	Reclaims      int             `json:"reclaims,omitempty"`
	Override      json.RawMessage `json:"override,omitempty"`
	Idx           int             `json:"idx"`
	Next          int             `json:"next,omitempty"`
	Busy          int             `json:"busy,omitempty"`
	Done          int             `json:"done,omitempty"`
	Failed        int             `json:"failed,omitempty"`
	ItemFailed    []int           `json:"itemFailed,omitempty"`
	ScheduledAt   time.Time       `json:"scheduledAt"`
	FinishedAt    time.Time       `json:"finishedAt"`
}

type snapItem struct {
	Phase   Phase           `json:"phase"`
	Attempt int             `json:"attempt,omitempty"`
	Due     time.Time       `json:"due"`
	Input   json.RawMessage `json:"input,omitempty"`
	Output  json.RawMessage `json:"output,omitempty"`
	Error   *journal.Error  `json:"error,omitempty"`
	// Reclaims: attempts failed by reclaim.
	Reclaims int `json:"reclaims,omitempty"`
}

type snapFlight struct {
	Step int       `json:"s"`
	Item int       `json:"i"`
	At   time.Time `json:"at"`
}

type snapEffect struct {
	Effect journal.Effect `json:"effect"`
	At     time.Time      `json:"at"`
}

type snapSignal struct {
	Payload  json.RawMessage `json:"payload,omitempty"`
	Consumed bool            `json:"consumed,omitempty"`
}

// encodeState encodes rs in the snapshot format. With put, values of at
// least minPart bytes that no longer change go to parts (put stores one:
// each is put once, when first encoded); without it, everything is inline.
func encodeState(rs *RunState, put func(key string, data []byte) error, minPart int) ([]byte, error) {
	s := snapRun{Format: snapshotFormat, Workflow: rs.wfName, DefHash: rs.defHash, Key: rs.key, Trigger: rs.trigger,
		Started: rs.startedAt, Status: rs.status, Output: rs.output, Reason: rs.reason,
		Parent: rs.parent, ParentStep: rs.parentStep, ParentAttempt: rs.parentAttempt, Outstanding: rs.outstanding,
		Seq: rs.seq, State: valueJSON(rs.state), Started2: rs.started, Remaining: rs.remaining, CompStack: rs.compStack,
		Compensating: rs.compensating, EndStatus: rs.endStatus, Resubmitted: rs.resubmitted,
		Events: rs.snapEvents + rs.unsnapped}
	var err error
	if s.Input, s.InputPart, err = rs.encodeInput(put, minPart); err != nil {
		return nil, err
	}
	parted := map[string]bool{}
	for i, st := range rs.steps {
		ss, err := rs.encodeStepPart(st, put, minPart, s.InputPart != "")
		if err != nil {
			return nil, err
		}
		if ss.Part != "" {
			parted[rs.def.Steps[i].Name] = true
		}
		s.Steps = append(s.Steps, ss)
	}
	outputs := map[string]any{}
	for name, v := range rs.outputs {
		if !parted[name] {
			outputs[name] = v
		}
	}
	s.Outputs = valueJSON(outputs)
	for name, raw := range rs.undecoded {
		if !parted[name] {
			if s.Undecoded == nil {
				s.Undecoded = map[string]json.RawMessage{}
			}
			s.Undecoded[name] = orNull(raw)
		}
	}
	if rs.comp != nil {
		c := encodeStep(rs.comp)
		s.Comp = &c
	}
	for _, i := range slices.Sorted(maps.Keys(rs.dirty)) {
		if rs.dirty[i] {
			s.Dirty = append(s.Dirty, i)
		}
	}
	s.Timers = flights(rs.timers)
	s.Leases = flights(rs.leases)
	for f, ok := range rs.inflight {
		if ok {
			s.Inflight = append(s.Inflight, snapFlight{Step: f.step, Item: f.item})
		}
	}
	sortFlights(s.Inflight)
	for _, p := range rs.undispatched {
		s.Undispatched = append(s.Undispatched, snapEffect{Effect: p.effect, At: p.at})
	}
	if len(rs.signals) > 0 {
		s.Signals = map[string][]snapSignal{}
		for name, recs := range rs.signals {
			out := make([]snapSignal, len(recs))
			for i, r := range recs {
				out[i] = snapSignal{Payload: r.payload, Consumed: r.consumed}
			}
			s.Signals[name] = out
		}
	}
	return json.Marshal(s)
}

func encodeStep(st *stepState) snapStep {
	s := snapStep{Phase: st.phase, Attempt: st.attempt, Due: st.due, Input: st.input, Output: st.output, Error: st.failure,
		HasItems: st.items != nil, Child: st.child, FailedPending: st.failedPending, Base: st.base, Reclaims: st.reclaims, Override: st.override,
		Idx: st.idx, Next: st.next, Busy: st.busy, Done: st.done, Failed: st.failed, ItemFailed: st.itemFailed,
		ScheduledAt: st.scheduledAt, FinishedAt: st.finishedAt}
	for _, it := range st.items {
		s.Items = append(s.Items, snapItem{Phase: it.phase, Attempt: it.attempt, Due: it.due, Input: it.input, Output: it.output,
			Error: it.failure, Reclaims: it.reclaims})
	}
	return s
}

func flights(m map[flight]time.Time) []snapFlight {
	var out []snapFlight
	for f, at := range m {
		out = append(out, snapFlight{Step: f.step, Item: f.item, At: at})
	}
	sortFlights(out)
	return out
}

func sortFlights(fs []snapFlight) {
	slices.SortFunc(fs, func(a, b snapFlight) int {
		if a.Step != b.Step {
			return a.Step - b.Step
		}
		return a.Item - b.Item
	})
}

// decodeState decodes a snapshot of a run of def. It fails with
// errSnapshot when the snapshot is of another format, another definition,
// or does not decode.
func decodeState(def *workflow.Definition, data []byte) (*RunState, error) {
	s, err := parseSnapshot(data)
	if err != nil {
		return nil, err
	}
	return s.state(def)
}

// parseSnapshot decodes a snapshot of this build's format.
func parseSnapshot(data []byte) (*snapRun, error) {
	var s snapRun
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", errSnapshot, err)
	}
	if s.Format != snapshotFormat {
		return nil, fmt.Errorf("%w: format %d, this build reads %d", errSnapshot, s.Format, snapshotFormat)
	}
	return &s, nil
}

// state builds the RunState s holds, of a run of def.
func (s *snapRun) state(def *workflow.Definition) (*RunState, error) {
	if s.DefHash != def.Hash() {
		return nil, fmt.Errorf("%w: of definition %s, not %s", errSnapshot, s.DefHash, def.Hash())
	}
	if len(s.Steps) != len(def.Steps) {
		return nil, fmt.Errorf("%w: %d steps, the definition has %d", errSnapshot, len(s.Steps), len(def.Steps))
	}
	rs := NewRunState(def)
	rs.wfName, rs.defHash, rs.key, rs.trigger = s.Workflow, s.DefHash, s.Key, s.Trigger
	rs.startedAt, rs.inputJSON, rs.status, rs.output, rs.reason = s.Started, s.Input, s.Status, s.Output, s.Reason
	rs.inputPart, rs.inputLazy = s.InputPart, s.InputPart != ""
	rs.parent, rs.parentStep, rs.parentAttempt = s.Parent, s.ParentStep, s.ParentAttempt
	rs.outstanding, rs.seq, rs.started, rs.remaining = s.Outstanding, s.Seq, s.Started2, s.Remaining
	rs.compStack, rs.compensating, rs.endStatus, rs.resubmitted = s.CompStack, s.Compensating, s.EndStatus, s.Resubmitted
	rs.snapEvents = s.Events
	if len(s.Input) > 0 && !json.Valid(s.Input) {
		return nil, fmt.Errorf("%w: input is not JSON", errSnapshot)
	}
	if err := decodeObject(s.State, &rs.state); err != nil {
		return nil, fmt.Errorf("%w: state: %v", errSnapshot, err)
	}
	if err := decodeObject(s.Outputs, &rs.outputs); err != nil {
		return nil, fmt.Errorf("%w: outputs: %v", errSnapshot, err)
	}
	for name, raw := range s.Undecoded {
		if _, ok := rs.byName[name]; !ok || !json.Valid(raw) {
			return nil, fmt.Errorf("%w: output of step %q", errSnapshot, name)
		}
		rs.undecoded[name] = raw
	}
	for i, ss := range s.Steps {
		if ss.Idx != i {
			return nil, fmt.Errorf("%w: step %d has position %d", errSnapshot, i, ss.Idx)
		}
		*rs.steps[i] = decodeStep(ss)
		if ss.Part != "" && ss.Phase != PhaseSucceeded {
			return nil, fmt.Errorf("%w: step %d is %s, with its payload apart", errSnapshot, i, ss.Phase)
		}
		if ss.InputRun && !rs.inputLazy {
			rs.steps[i].input, rs.steps[i].inputRun = rs.inputJSON, false
		}
	}
	if s.Comp != nil {
		if s.Comp.Idx < 0 || s.Comp.Idx >= len(def.Steps) {
			return nil, fmt.Errorf("%w: compensation of step %d", errSnapshot, s.Comp.Idx)
		}
		c := decodeStep(*s.Comp)
		rs.comp = &c
	}
	for _, i := range s.Dirty {
		rs.dirty[i] = true
	}
	for _, f := range s.Timers {
		rs.timers[flight{f.Step, f.Item}] = f.At
	}
	for _, f := range s.Leases {
		rs.leases[flight{f.Step, f.Item}] = f.At
	}
	for _, f := range s.Inflight {
		rs.inflight[flight{f.Step, f.Item}] = true
	}
	for _, p := range s.Undispatched {
		rs.undispatched = append(rs.undispatched, pendingEffect{effect: p.Effect, at: p.At})
	}
	for name, recs := range s.Signals {
		out := make([]signalRec, len(recs))
		for i, r := range recs {
			out[i] = signalRec{payload: r.Payload, consumed: r.Consumed}
		}
		rs.signals[name] = out
	}
	for _, idx := range slices.Concat(s.Dirty, rs.compStack) {
		if idx < 0 || idx >= len(def.Steps) {
			return nil, fmt.Errorf("%w: step position %d", errSnapshot, idx)
		}
	}
	for f := range rs.timers {
		step := f.step
		if step == -1 {
			step = f.item // a compensation's retry: flight{-1, step}
		}
		if step < 0 || step >= len(def.Steps) {
			return nil, fmt.Errorf("%w: timer of step %d", errSnapshot, step)
		}
	}
	return rs, nil
}

func decodeStep(s snapStep) stepState {
	st := stepState{phase: s.Phase, attempt: s.Attempt, due: s.Due, input: s.Input, output: s.Output, failure: s.Error,
		child: s.Child, scheduledAt: s.ScheduledAt, finishedAt: s.FinishedAt, failedPending: s.FailedPending, base: s.Base, reclaims: s.Reclaims, override: s.Override, idx: s.Idx,
		next: s.Next, busy: s.Busy, done: s.Done, failed: s.Failed, itemFailed: s.ItemFailed, part: s.Part, lazy: s.Part != "", inputRun: s.InputRun}
	if s.HasItems {
		st.items = make([]itemState, len(s.Items))
		for i, it := range s.Items {
			st.items[i] = itemState{phase: it.Phase, attempt: it.Attempt, due: it.Due, input: it.Input, output: it.Output,
				failure: it.Error, reclaims: it.Reclaims}
		}
	}
	return st
}

// decodeObject decodes a JSON object into *m as workflow.DecodeJSON would.
func decodeObject(raw json.RawMessage, m *map[string]any) error {
	v, err := workflow.DecodeJSON(raw)
	if err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%T, want an object", v)
	}
	*m = obj
	return nil
}

// valueJSON writes a value decoded by workflow.DecodeJSON (nil, bool,
// string, int64, float64, []any, map[string]any) as JSON that decodes back
// to the same value and types: a float64 with an integral value keeps a
// fraction, so it does not come back as an int64.
func valueJSON(v any) json.RawMessage {
	var b bytes.Buffer
	writeValue(&b, v)
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		b.WriteString(s)
		if !bytes.ContainsAny([]byte(s), ".eEnN") {
			b.WriteString(".0")
		}
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeValue(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	default:
		vb, err := json.Marshal(x)
		if err != nil {
			vb = []byte("null")
		}
		b.Write(vb)
	}
}
