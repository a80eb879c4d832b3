package journal

import (
	"encoding/json"
	"time"
)

// Kind names an event type. Kinds are persisted: never rename one.
type Kind string

// The event kinds. The set is open: a decider ignores kinds it does not know.
const (
	RunStarted     Kind = "RunStarted"
	StepScheduled  Kind = "StepScheduled"
	StepSucceeded  Kind = "StepSucceeded"
	StepFailed     Kind = "StepFailed"
	StepSkipped    Kind = "StepSkipped"
	ItemFailed     Kind = "ItemFailed" // a map item failed for good
	RetryScheduled Kind = "RetryScheduled"
	// StepStarted acknowledges an async step's start: the invocation that
	// hands out its callback token came back, and the attempt's start lease
	// ends; it now waits for its callback (or its timeout).
	StepStarted      Kind = "StepStarted"
	TimerStarted     Kind = "TimerStarted"
	TimerFired       Kind = "TimerFired"
	EffectDispatched Kind = "EffectDispatched"
	EffectSucceeded  Kind = "EffectSucceeded"
	EffectFailed     Kind = "EffectFailed"
	EventReceived    Kind = "EventReceived"
	SubRunStarted    Kind = "SubRunStarted"
	SubRunCompleted  Kind = "SubRunCompleted"
	Deferred         Kind = "Deferred"
	Acquired         Kind = "Acquired"
	Released         Kind = "Released"
	NeedsReview      Kind = "NeedsReview"
	Resubmitted      Kind = "Resubmitted"
	Cancelled        Kind = "Cancelled"
	RunCompleted     Kind = "RunCompleted"
	RunFailed        Kind = "RunFailed"
	// DefinitionPushed records who pushed a definition (on the audit run
	// orchestrator.AuditStream: "definitions/<workflow>").
	DefinitionPushed Kind = "DefinitionPushed"
)

// Event is one state change of a run. It is a flat record: each kind uses
// the fields that apply to it and leaves the rest empty, which keeps the
// encoding small and the schema easy to extend.
type Event struct {
	// Seq is the commit the event belongs to, set by the Store on Load.
	Seq int64 `json:"-"`
	// Kind says what happened.
	Kind Kind `json:"kind"`
	// At is when the engine decided it (from the engine's clock).
	At time.Time `json:"at"`

	// Step and Attempt identify the step an event is about.
	Step    string `json:"step,omitempty"`
	Attempt int    `json:"attempt,omitempty"`

	// RunStarted: the definition pinned by the run, its input, start key and
	// the id of the trigger that started it.
	Workflow string          `json:"workflow,omitempty"`
	DefHash  string          `json:"defHash,omitempty"`
	Key      string          `json:"key,omitempty"`
	Trigger  string          `json:"trigger,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"`
	State    json.RawMessage `json:"state,omitempty"` // a JSON merge patch (RFC 7386)
	Effects  []Effect        `json:"effects,omitempty"`
	Error    *Error          `json:"error,omitempty"`
	// Due is when a retry or timer is due, or (StepScheduled of an attempt
	// the engine invokes) the attempt's lease: the time by which its result
	// is due. Until then no driver invokes the attempt again.
	Due time.Time `json:"due,omitzero"`
	// Reason explains review, cancellation and skips; By names an operator.
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
	// EffectID names the effect an Effect* event is about.
	EffectID string `json:"effectId,omitempty"`
	// Index is the 1-based item of a map step an event is about (0: the
	// step itself).
	Index int `json:"index,omitempty"`
	// Name names an external event (EventReceived, and the wait that
	// expects it).
	Name string `json:"name,omitempty"`
	// Parent is the parent run of a child run (RunStarted); Child is a
	// child run (SubRunStarted, SubRunCompleted) or the run a deferral
	// queue entry is about (Deferred, Acquired, Released).
	Parent string `json:"parent,omitempty"`
	Child  string `json:"child,omitempty"`
	// Compensation marks events about a step's compensation.
	Compensation bool `json:"compensation,omitempty"`
}

// Effect is a side effect a step asked for. The engine journals it with the
// step's result, then hands it to the effects executor, which runs it at
// least once; ID is stable across redeliveries so receivers de-duplicate.
type Effect struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Target  string          `json:"target,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Error describes a failure recorded in the journal.
type Error struct {
	Message string `json:"message"`
	// Kind classifies the error (e.g. "timeout", "declined"); retry policies
	// may list kinds that are not retried.
	Kind string `json:"kind,omitempty"`
	// Terminal is true when the failure must not be retried.
	Terminal bool `json:"terminal,omitempty"`
}

func (e *Error) Error() string { return e.Message }
