package workflow

import (
	"strings"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
)

// SensitivePaths returns the definition's parsed Sensitive paths.
func (d *Definition) SensitivePaths() []sensitive.Path {
	if d.c == nil {
		return nil
	}
	return d.c.sensitive
}

// sensitiveProblems parses d.Sensitive, reporting each bad path: one that
// does not parse, names a step that does not exist, or the output of a
// step whose output Decide computes (pass, wait, fail, sub: they copy
// sealed values, and cannot seal new ones); and expressions that read a
// sensitive value where a sealed one would not do (a key, a condition).
func sensitiveProblems(d *Definition, add func(step, field, format string, args ...any)) []sensitive.Path {
	var out []sensitive.Path
	for i, raw := range d.Sensitive {
		p, err := sensitive.ParsePath(raw)
		if err != nil {
			add("", "sensitive", "path %d: %v", i+1, err)
			continue
		}
		if p.Root == sensitive.RootSteps {
			n := d.Step(p.Step)
			if n == nil {
				add("", "sensitive", "path %d %q: unknown step %q", i+1, raw, p.Step)
				continue
			}
			switch n.StepType() {
			case TypeTask, TypeMap, TypeEvent:
			default:
				add("", "sensitive", "path %d %q: a %s step's output is computed from the run's own values, which stay sealed; declare the values it copies from instead",
					i+1, raw, n.StepType())
				continue
			}
		}
		out = append(out, p)
	}
	for _, p := range out {
		if p.Root == sensitive.RootSteps || strings.Contains(p.String(), sensitive.Wildcard) {
			continue
		}
		name := p.String()
		reads := func(step, field, src string) {
			if strings.Contains(src, name) {
				add(step, field, "reads the sensitive value %s, which expressions see sealed; it may only be copied (in input, output)", name)
			}
		}
		reads("", "key", d.Key)
		reads("", "deferredKey", d.DeferredKey)
		for _, s := range d.Steps {
			reads(s.Name, "when", s.When)
			reads(s.Name, "error", s.Error)
			reads(s.Name, "until", s.Until)
			reads(s.Name, "items", s.Items)
		}
	}
	return out
}
