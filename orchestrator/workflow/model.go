package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Step types. Persisted: never rename one.
const (
	// TypeTask runs a registered function (in-process or a Lambda).
	TypeTask = "task"
	// TypePass evaluates Output (CEL) as the step's output; if Error (CEL)
	// yields a non-empty string the attempt fails, retryably unless Terminal.
	TypePass = "pass"
	// TypeFail fails the run terminally with Message.
	TypeFail = "fail"
	// TypeWait waits for Duration, or until the timestamp Until (CEL).
	TypeWait = "wait"
	// TypeMap runs Function once per element of the list Items (CEL), at
	// most MaxConcurrency at a time; its output is the list of the items'
	// outputs in input order.
	TypeMap = "map"
	// TypeSub starts a child run of Workflow with Input and waits for it.
	TypeSub = "sub"
	// TypeEvent waits for the external event Event delivered to the run
	// (by API, CLI or message), at most Timeout; its output is the event's
	// payload.
	TypeEvent = "event"
)

// What a run does when a step fails for good.
const (
	// OnFailureReview (the default) sends the run to manual review.
	OnFailureReview = "review"
	// OnFailureCompensate runs the compensations of the completed steps,
	// newest first, then fails the run.
	OnFailureCompensate = "compensate"
)

// Definition is a workflow: a named, versioned DAG of steps. Build or Load
// it; a Definition that did not come from one of them cannot be run.
type Definition struct {
	Name        string `json:"name" yaml:"name"`
	Version     string `json:"version" yaml:"version"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Key is a CEL expression over input giving the run's idempotency key:
	// starting a run whose key exists returns the existing run.
	Key string `json:"key,omitempty" yaml:"key"`
	// DeferredKey (CEL) allows at most one active run per key.
	DeferredKey string `json:"deferredKey,omitempty" yaml:"deferredKey"`
	// Output (CEL) is the run's output on completion; default: state.
	Output string `json:"output,omitempty" yaml:"output"`
	// Timeout bounds the whole run.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout"`
	// Retry is the default policy of steps that declare none.
	Retry *RetryPolicy `json:"retry,omitempty" yaml:"retry"`
	// OnFailure is OnFailureReview (default) or OnFailureCompensate.
	OnFailure string    `json:"onFailure,omitempty" yaml:"onFailure"`
	Steps     []Node    `json:"steps" yaml:"steps"`
	Triggers  []Trigger `json:"triggers,omitempty" yaml:"triggers"`
	// Sensitive lists paths to values the journal keeps only sealed
	// (package sensitive): input.<field>…, state.<field>…,
	// steps.<step>.output[.<field>…]; a field * matches every element.
	Sensitive []string `json:"sensitive,omitempty" yaml:"sensitive"`

	c *compiled // set by Build/Load
}

// Node is one step of the DAG.
type Node struct {
	Name string `json:"name" yaml:"name"`
	// Type is one of TypeTask (default), TypePass, TypeFail, TypeWait.
	Type string `json:"type,omitempty" yaml:"type"`
	// Function names the registered function (task steps). In AWS it is the
	// Lambda function name, optionally qualified ("charge:live").
	Function string   `json:"function,omitempty" yaml:"function"`
	After    []string `json:"after,omitempty" yaml:"after"`
	// When (CEL, bool) decides whether the step runs; a false condition
	// skips it, and a skipped step counts as done for its dependents.
	When string `json:"when,omitempty" yaml:"when"`
	// Input (CEL) maps the run to the step's input; default: input.
	Input string `json:"input,omitempty" yaml:"input"`
	// Output (CEL) is a pass step's output.
	Output string `json:"output,omitempty" yaml:"output"`
	// Error (CEL, string) fails a pass step's attempt when non-empty.
	Error string `json:"error,omitempty" yaml:"error"`
	// Terminal makes a pass step's Error terminal.
	Terminal bool `json:"terminal,omitempty" yaml:"terminal"`
	// Message is a fail step's error message.
	Message string `json:"message,omitempty" yaml:"message"`
	// Duration and Until (CEL, timestamp or RFC 3339 string) configure a
	// wait step.
	Duration Duration     `json:"duration,omitempty" yaml:"duration"`
	Until    string       `json:"until,omitempty" yaml:"until"`
	Retry    *RetryPolicy `json:"retry,omitempty" yaml:"retry"`
	// Timeout bounds one attempt.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout"`
	// Effects lists the effect kinds the step may emit (documentation and
	// least-privilege wiring).
	Effects []string `json:"effects,omitempty" yaml:"effects"`
	// Async makes a task step wait for a callback: the function receives a
	// token (step.Request.Token) and the step finishes when the token is
	// completed through the API/CLI, or fails when Timeout passes without
	// a completion or heartbeat.
	Async bool `json:"async,omitempty" yaml:"async"`
	// Compensate names the function that undoes this step when the run is
	// cancelled or fails with OnFailureCompensate (a saga).
	Compensate string `json:"compensate,omitempty" yaml:"compensate"`
	// Items (CEL, list) are a map step's elements; Input then sees each as
	// `item` (and its 0-based `index`); the default input is the item.
	Items string `json:"items,omitempty" yaml:"items"`
	// MaxConcurrency bounds a map step's items in flight (0: 10).
	MaxConcurrency int `json:"maxConcurrency,omitempty" yaml:"maxConcurrency"`
	// ToleratedFailures and ToleratedFailurePercent let a map step succeed
	// although some items failed for good (their outputs are null).
	ToleratedFailures       int     `json:"toleratedFailures,omitempty" yaml:"toleratedFailures"`
	ToleratedFailurePercent float64 `json:"toleratedFailurePercent,omitempty" yaml:"toleratedFailurePercent"`
	// Workflow is a sub step's child workflow.
	Workflow string `json:"workflow,omitempty" yaml:"workflow"`
	// Event is the external event an event step waits for.
	Event string `json:"event,omitempty" yaml:"event"`
}

// DefaultMaxConcurrency bounds a map step's items in flight when it sets no
// MaxConcurrency.
const DefaultMaxConcurrency = 10

// RetryPolicy says how a failed attempt is retried. Delay before attempt n+1
// is min(InitialInterval * BackoffCoefficient^(n-1), MaxInterval), with full
// jitter when Jitter is set (derived deterministically from the run, step and
// attempt, so replays decide the same).
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 1 means no retry. 0: default (3).
	MaxAttempts        int      `json:"maxAttempts,omitempty" yaml:"maxAttempts"`
	InitialInterval    Duration `json:"initialInterval,omitempty" yaml:"initialInterval"`
	BackoffCoefficient float64  `json:"backoffCoefficient,omitempty" yaml:"backoffCoefficient"`
	MaxInterval        Duration `json:"maxInterval,omitempty" yaml:"maxInterval"`
	Jitter             bool     `json:"jitter,omitempty" yaml:"jitter"`
	// NonRetryable lists error kinds that fail the step at once.
	NonRetryable []string `json:"nonRetryable,omitempty" yaml:"nonRetryable"`
}

// DefaultRetry applies to steps when neither they nor their workflow set a
// policy.
var DefaultRetry = RetryPolicy{
	MaxAttempts:        3,
	InitialInterval:    Duration(100 * time.Millisecond),
	BackoffCoefficient: 2,
	MaxInterval:        Duration(30 * time.Second),
}

// Trigger binds a message source to this workflow. The decoder evaluates
// When over the decoded message to pick the workflow, then Input and Key.
type Trigger struct {
	// Source names the queue or stream, e.g. "sqs:orders" or "kinesis:orders".
	Source string `json:"source" yaml:"source"`
	// When (CEL over message, bool) selects messages; empty: all.
	When string `json:"when,omitempty" yaml:"when"`
	// Input (CEL over message) is the run's input; default: message.
	Input string `json:"input,omitempty" yaml:"input"`
	// Key (CEL over message) is the run key; default: the workflow's Key
	// over the input, else the message id.
	Key string `json:"key,omitempty" yaml:"key"`
}

// Duration is a time.Duration that reads and writes as "1m30s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1m30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err2 := json.Unmarshal(b, &secs); err2 != nil {
			return fmt.Errorf("duration: want a string like \"1m30s\": %w", err)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	return d.parse(s)
}

// UnmarshalText reads "1m30s".
func (d *Duration) UnmarshalText(b []byte) error { return d.parse(string(b)) }

// UnmarshalYAML reads "1m30s" or a number of seconds (as UnmarshalJSON
// does: Load reads JSON files as YAML). Its error carries the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var err error
	switch {
	case n.Kind != yaml.ScalarNode:
		err = fmt.Errorf("duration: want a string like \"1m30s\"")
	case n.Tag == "!!int" || n.Tag == "!!float":
		var secs float64
		if err = n.Decode(&secs); err == nil {
			*d = Duration(secs * float64(time.Second))
			return nil
		}
	default:
		if err = d.parse(n.Value); err == nil {
			return nil
		}
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// StepType returns the step's type with the default applied.
func (s *Node) StepType() string {
	if s.Type == "" {
		return TypeTask
	}
	return s.Type
}

// Step returns the named step, or nil.
func (d *Definition) Step(name string) *Node {
	if d.c != nil {
		if i, ok := d.c.index[name]; ok {
			return &d.Steps[i]
		}
		return nil
	}
	for i := range d.Steps {
		if d.Steps[i].Name == name {
			return &d.Steps[i]
		}
	}
	return nil
}

// RetryPolicy returns the effective retry policy of step s.
func (d *Definition) RetryPolicy(s *Node) RetryPolicy {
	p := DefaultRetry
	switch {
	case s.Retry != nil:
		p = *s.Retry
	case d.Retry != nil:
		p = *d.Retry
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.BackoffCoefficient == 0 {
		p.BackoffCoefficient = 1
	}
	if p.InitialInterval == 0 {
		p.InitialInterval = DefaultRetry.InitialInterval
	}
	if p.MaxInterval == 0 {
		p.MaxInterval = DefaultRetry.MaxInterval
	}
	return p
}

// CanonicalJSON is the definition's canonical encoding: what is stored,
// hashed and diffed.
func (d *Definition) CanonicalJSON() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		// A Definition holds only strings, numbers, bools and slices.
		panic(fmt.Sprintf("workflow: canonical JSON: %v", err))
	}
	return b
}

// Hash is the content hash of the canonical JSON ("sha256:<hex>").
func (d *Definition) Hash() string {
	if d.c != nil && d.c.hash != "" {
		return d.c.hash
	}
	sum := sha256.Sum256(d.CanonicalJSON())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Successors returns the steps that come directly after step name; for a
// built definition it is a lookup, not a scan.
func (d *Definition) Successors(name string) []string {
	if d.c != nil && d.c.succ != nil {
		return d.c.succ[name]
	}
	return d.Deps(name)
}

// Deps returns the steps that depend on step name (its successors).
func (d *Definition) Deps(name string) []string {
	var out []string
	for _, s := range d.Steps {
		for _, a := range s.After {
			if a == name {
				out = append(out, s.Name)
			}
		}
	}
	return out
}
