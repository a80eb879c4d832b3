package workflow

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
)

// Problem is one reason a definition is invalid.
type Problem struct {
	File  string // file name, when loaded from a file
	Line  int    // 1-based line, when known
	Step  string // offending step, "" for the workflow itself
	Field string // offending field, e.g. "after", "when"
	Msg   string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Step != "" {
		fmt.Fprintf(&b, "step %q: ", p.Step)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// InvalidError lists every problem found in a definition.
type InvalidError struct {
	Workflow string
	Problems []Problem
}

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	name := e.Workflow
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Sprintf("workflow %s is invalid: %s", name, strings.Join(msgs, "; "))
}

// ErrInvalid matches every *InvalidError with errors.Is.
var ErrInvalid = errors.New("workflow: invalid definition")

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// BuildOption configures Build and Load.
type BuildOption func(*buildConfig)

type buildConfig struct {
	registered func(string) bool
	file       string
	lines      func(step, field string) int
}

// Functions makes Build reject task steps whose function is not among the
// registered ones (by exact name; a ":qualifier" is ignored).
func Functions(registered func(name string) bool) BuildOption {
	return func(c *buildConfig) { c.registered = registered }
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// build validates d and compiles its expressions.
func (d *Definition) build(cfg buildConfig) error {
	var probs []Problem
	add := func(step, field, format string, args ...any) {
		p := Problem{File: cfg.file, Step: step, Field: field, Msg: fmt.Sprintf(format, args...)}
		if cfg.lines != nil {
			p.Line = cfg.lines(step, field)
		}
		probs = append(probs, p)
	}
	renv, menv, err := envs()
	if err != nil {
		return fmt.Errorf("workflow: CEL environment: %w", err)
	}
	if len(d.Steps) > MaxSteps {
		add("", "steps", "%d steps: at most %d", len(d.Steps), MaxSteps)
		return &InvalidError{Problems: probs}
	}
	if d.Name == "" {
		add("", "name", "missing workflow name")
	} else if !nameRE.MatchString(d.Name) {
		add("", "name", "%q is not a valid name (letters, digits, '-' and '_', starting with a letter)", d.Name)
	}
	if d.Version == "" {
		d.Version = "1"
	}
	if len(d.Steps) == 0 {
		add("", "steps", "a workflow needs at least one step")
	}
	c := &compiled{index: make(map[string]int, len(d.Steps)), progs: map[string]cel.Program{}}
	expr := func(step, field, src string, want *cel.Type) {
		if src == "" {
			return
		}
		prg, err := compile(renv, src, want)
		if err != nil {
			add(step, field, "%v", err)
			return
		}
		c.progs[step+"/"+field] = prg
	}
	expr("", "key", d.Key, nil)
	expr("", "deferredKey", d.DeferredKey, nil)
	expr("", "output", d.Output, nil)
	checkRetry(d.Retry, "", add)
	if d.OnFailure != "" && d.OnFailure != OnFailureReview && d.OnFailure != OnFailureCompensate {
		add("", "onFailure", "%q: want review or compensate", d.OnFailure)
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		switch {
		case s.Name == "":
			add(fmt.Sprintf("#%d", i+1), "name", "missing step name")
			continue
		case !nameRE.MatchString(s.Name):
			add(s.Name, "name", "not a valid step name (letters, digits, '-' and '_', starting with a letter)")
		}
		if _, dup := c.index[s.Name]; dup {
			add(s.Name, "name", "duplicate step")
			continue
		}
		c.index[s.Name] = i
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		if s.Name == "" {
			continue
		}
		for _, a := range s.After {
			switch {
			case a == s.Name:
				add(s.Name, "after", "a step cannot come after itself")
			case !slices.Contains(stepNames(d), a):
				add(s.Name, "after", "unknown step %q", a)
			}
		}
		expr(s.Name, "when", s.When, cel.BoolType)
		expr(s.Name, "input", s.Input, nil)
		checkRetry(s.Retry, s.Name, add)
		switch s.StepType() {
		case TypeTask:
			if s.Function == "" {
				add(s.Name, "function", "a task step needs a function")
			} else if cfg.registered != nil {
				fn, _, _ := strings.Cut(s.Function, ":")
				if !cfg.registered(fn) {
					add(s.Name, "function", "function %q is not registered", s.Function)
				}
			}
		case TypePass:
			expr(s.Name, "output", s.Output, nil)
			expr(s.Name, "error", s.Error, cel.StringType)
		case TypeFail:
			if s.Message == "" {
				add(s.Name, "message", "a fail step needs a message")
			}
		case TypeWait:
			if s.Duration <= 0 && s.Until == "" {
				add(s.Name, "duration", "a wait step needs a positive duration or an until expression")
			}
			expr(s.Name, "until", s.Until, nil)
		case TypeMap:
			if s.Function == "" {
				add(s.Name, "function", "a map step needs a function")
			} else if cfg.registered != nil {
				if fn, _, _ := strings.Cut(s.Function, ":"); !cfg.registered(fn) {
					add(s.Name, "function", "function %q is not registered", s.Function)
				}
			}
			if s.Items == "" {
				add(s.Name, "items", "a map step needs an items expression (a list)")
			}
			expr(s.Name, "items", s.Items, nil)
			if s.MaxConcurrency < 0 || s.ToleratedFailures < 0 || s.ToleratedFailurePercent < 0 || s.ToleratedFailurePercent > 100 {
				add(s.Name, "maxConcurrency", "maxConcurrency and toleratedFailures must not be negative; toleratedFailurePercent is 0-100")
			}
		case TypeSub:
			if s.Workflow == "" {
				add(s.Name, "workflow", "a sub step needs the child workflow's name")
			}
		case TypeEvent:
			if s.Event == "" {
				add(s.Name, "event", "an event step needs the event's name")
			}
		default:
			add(s.Name, "type", "unknown step type %q (want task, pass, fail, wait, map, sub or event)", s.Type)
		}
		if s.Async && s.StepType() != TypeTask {
			add(s.Name, "async", "only task steps can be async")
		}
		if s.Compensate != "" && cfg.registered != nil {
			if fn, _, _ := strings.Cut(s.Compensate, ":"); !cfg.registered(fn) {
				add(s.Name, "compensate", "function %q is not registered", s.Compensate)
			}
		}
		if s.Timeout < 0 {
			add(s.Name, "timeout", "negative timeout")
		}
	}
	for i, t := range d.Triggers {
		name := fmt.Sprintf("trigger%d", i)
		if t.Source == "" {
			add("", "triggers", "trigger %d has no source", i+1)
		}
		for _, f := range [...]struct{ field, src string }{{"when", t.When}, {"input", t.Input}, {"key", t.Key}} {
			field, src := f.field, f.src // in order: a map would shuffle the problems
			if src == "" {
				continue
			}
			prg, err := compile(menv, src, nil)
			if err != nil {
				add("", "triggers", "trigger %d: %s: %v", i+1, field, err)
				continue
			}
			c.progs[name+"/"+field] = prg
		}
	}
	c.sensitive = sensitiveProblems(d, add)
	if len(probs) == 0 {
		graphProblems(d, add)
	}
	if len(probs) > 0 {
		return &InvalidError{Workflow: d.Name, Problems: probs}
	}
	d.c = nil
	c.hash = d.Hash()
	c.succ = map[string][]string{}
	for _, s := range d.Steps {
		for _, a := range s.After {
			c.succ[a] = append(c.succ[a], s.Name)
		}
	}
	d.c = c
	return nil
}

func stepNames(d *Definition) []string {
	out := make([]string, len(d.Steps))
	for i, s := range d.Steps {
		out[i] = s.Name
	}
	return out
}

func checkRetry(p *RetryPolicy, step string, add func(step, field, format string, args ...any)) {
	if p == nil {
		return
	}
	if p.MaxAttempts < 0 {
		add(step, "retry", "maxAttempts must not be negative")
	}
	if p.BackoffCoefficient != 0 && p.BackoffCoefficient < 1 {
		add(step, "retry", "backoffCoefficient must be at least 1")
	}
	if p.InitialInterval < 0 || p.MaxInterval < 0 {
		add(step, "retry", "intervals must not be negative")
	}
}

// graphProblems finds cycles and unreachable steps (those downstream of a
// fail step, which can never succeed).
func graphProblems(d *Definition, add func(step, field, format string, args ...any)) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	byName := map[string]*Node{}
	for i := range d.Steps {
		byName[d.Steps[i].Name] = &d.Steps[i]
	}
	var path []string
	reported := false
	var visit func(n string)
	visit = func(n string) {
		if reported {
			return
		}
		color[n] = grey
		path = append(path, n)
		for _, a := range byName[n].After {
			switch color[a] {
			case grey:
				i := slices.Index(path, a)
				cycle := append(slices.Clone(path[i:]), a)
				slices.Reverse(cycle)
				add(n, "after", "cycle: %s", strings.Join(cycle, " -> "))
				reported = true
				return
			case white:
				visit(a)
			}
		}
		path = path[:len(path)-1]
		color[n] = black
	}
	for _, s := range d.Steps {
		if color[s.Name] == white {
			visit(s.Name)
		}
	}
	if reported {
		return
	}
	// Unreachable: any step that (transitively) comes after a fail step.
	blocked := map[string]string{}
	for _, s := range topo(d) {
		st := byName[s]
		for _, a := range st.After {
			if byName[a].StepType() == TypeFail {
				blocked[s] = a
			} else if f, ok := blocked[a]; ok {
				blocked[s] = f
			}
		}
		if f, ok := blocked[s]; ok {
			add(s, "after", "unreachable: it comes after fail step %q, which never succeeds", f)
		}
	}
}

// topo returns step names in a dependency order (stable by declaration).
func topo(d *Definition) []string {
	done := map[string]bool{}
	var out []string
	for len(out) < len(d.Steps) {
		progress := false
		for _, s := range d.Steps {
			if done[s.Name] {
				continue
			}
			ready := true
			for _, a := range s.After {
				if !done[a] {
					ready = false
					break
				}
			}
			if ready {
				done[s.Name] = true
				out = append(out, s.Name)
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	return out
}
