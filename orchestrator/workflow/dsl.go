package workflow

import "time"

// Option configures a definition built with New.
type Option func(*Definition)

// StepOption configures one step.
type StepOption func(*Node)

// Builder accumulates a definition; call Build to validate it.
type Builder struct{ d Definition }

// New starts a definition named name:
//
//	def, err := workflow.New("order",
//		workflow.Version("2"),
//		workflow.Key("input.orderId"),
//		workflow.Step("verify", "verify-order"),
//		workflow.Step("charge", "charge-payment", workflow.After("verify"),
//			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 5})),
//	).Build()
func New(name string, opts ...Option) *Builder {
	b := &Builder{d: Definition{Name: name}}
	for _, o := range opts {
		o(&b.d)
	}
	return b
}

// Build validates the definition and compiles its expressions.
func (b *Builder) Build(opts ...BuildOption) (*Definition, error) {
	var cfg buildConfig
	for _, o := range opts {
		o(&cfg)
	}
	d := b.d // a copy: the builder stays reusable
	d.Steps = append([]Node(nil), b.d.Steps...)
	if err := d.build(cfg); err != nil {
		return nil, err
	}
	return &d, nil
}

// MustBuild is Build that panics on error, for definitions fixed in code.
func (b *Builder) MustBuild(opts ...BuildOption) *Definition {
	d, err := b.Build(opts...)
	if err != nil {
		panic(err)
	}
	return d
}

// Version sets the definition's version.
func Version(v string) Option { return func(d *Definition) { d.Version = v } }

// Describe sets the definition's description.
func Describe(s string) Option { return func(d *Definition) { d.Description = s } }

// Key sets the idempotency-key expression (CEL over input).
func Key(expr string) Option { return func(d *Definition) { d.Key = expr } }

// DeferredBy sets the deferred-key expression (CEL over input): at most one
// active run per key.
func DeferredBy(expr string) Option { return func(d *Definition) { d.DeferredKey = expr } }

// Output sets the run-output expression (CEL).
func Output(expr string) Option { return func(d *Definition) { d.Output = expr } }

// RunTimeout bounds the whole run.
func RunTimeout(t time.Duration) Option { return func(d *Definition) { d.Timeout = Duration(t) } }

// DefaultRetryPolicy sets the policy of steps that declare none.
func DefaultRetryPolicy(p RetryPolicy) Option { return func(d *Definition) { d.Retry = &p } }

// OnMessage binds a trigger source (e.g. "sqs:orders") to the workflow.
func OnMessage(t Trigger) Option { return func(d *Definition) { d.Triggers = append(d.Triggers, t) } }

// Step adds a task step that runs the registered function fn.
func Step(name, fn string, opts ...StepOption) Option {
	return addStep(Node{Name: name, Function: fn}, opts)
}

// Pass adds a pass step whose output is the CEL expression output.
func Pass(name, output string, opts ...StepOption) Option {
	return addStep(Node{Name: name, Type: TypePass, Output: output}, opts)
}

// Fail adds a step that fails the run terminally with message.
func Fail(name, message string, opts ...StepOption) Option {
	return addStep(Node{Name: name, Type: TypeFail, Message: message}, opts)
}

// Wait adds a step that waits for d.
func Wait(name string, d time.Duration, opts ...StepOption) Option {
	return addStep(Node{Name: name, Type: TypeWait, Duration: Duration(d)}, opts)
}

func addStep(s Node, opts []StepOption) Option {
	return func(d *Definition) {
		for _, o := range opts {
			o(&s)
		}
		d.Steps = append(d.Steps, s)
	}
}

// After makes the step wait for steps (fan-in waits for all of them).
func After(steps ...string) StepOption {
	return func(s *Node) { s.After = append(s.After, steps...) }
}

// When sets the step's condition (CEL, bool); false skips the step.
func When(expr string) StepOption { return func(s *Node) { s.When = expr } }

// Input sets the step's input mapping (CEL).
func Input(expr string) StepOption { return func(s *Node) { s.Input = expr } }

// Retry sets the step's retry policy.
func Retry(p RetryPolicy) StepOption { return func(s *Node) { s.Retry = &p } }

// Timeout bounds each attempt of the step.
func Timeout(t time.Duration) StepOption { return func(s *Node) { s.Timeout = Duration(t) } }

// Effects declares the effect kinds the step may emit.
func Effects(kinds ...string) StepOption {
	return func(s *Node) { s.Effects = append(s.Effects, kinds...) }
}

// ErrorIf makes a pass step fail when the CEL expression yields a non-empty
// string; terminal makes that failure final.
func ErrorIf(expr string, terminal bool) StepOption {
	return func(s *Node) { s.Error, s.Terminal = expr, terminal }
}

// Until makes a wait step wait until the CEL timestamp expression.
func Until(expr string) StepOption { return func(s *Node) { s.Until = expr } }

// Map adds a map step: fn runs once per element of the CEL list items.
func Map(name, fn, items string, opts ...StepOption) Option {
	return addStep(Node{Name: name, Type: TypeMap, Function: fn, Items: items}, opts)
}

// Sub adds a step that runs a child run of workflow and waits for it; its
// output is the child's output.
func Sub(name, workflow string, opts ...StepOption) Option {
	return addStep(Node{Name: name, Type: TypeSub, Workflow: workflow}, opts)
}

// Await adds a step that waits for the external event named event (bound
// it with Timeout); its output is the event's payload.
func Await(name, event string, opts ...StepOption) Option {
	return addStep(Node{Name: name, Type: TypeEvent, Event: event}, opts)
}

// Async makes a task step finish by callback: its function gets a token and
// the run waits until the token is completed (or Timeout passes without a
// completion or heartbeat).
func Async() StepOption { return func(s *Node) { s.Async = true } }

// CompensateWith names the function that undoes the step (sagas).
func CompensateWith(fn string) StepOption { return func(s *Node) { s.Compensate = fn } }

// MaxConcurrency bounds a map step's items in flight.
func MaxConcurrency(n int) StepOption { return func(s *Node) { s.MaxConcurrency = n } }

// Tolerate lets a map step succeed with up to n failed items, or up to
// percent of them.
func Tolerate(n int, percent float64) StepOption {
	return func(s *Node) { s.ToleratedFailures, s.ToleratedFailurePercent = n, percent }
}

// OnFailure sets what a run does when a step fails for good:
// OnFailureReview (default) or OnFailureCompensate.
func OnFailure(policy string) Option { return func(d *Definition) { d.OnFailure = policy } }

// Sensitive declares paths to values the journal keeps only sealed, e.g.
// "input.payment.cardNumber", "state.card", "steps.charge.output.token"
// (see package sensitive).
func Sensitive(paths ...string) Option {
	return func(d *Definition) { d.Sensitive = append(d.Sensitive, paths...) }
}
