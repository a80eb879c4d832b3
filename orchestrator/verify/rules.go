package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rules declares the volatile fields of step results: values that differ
// from one execution to the next by design (timestamps, generated ids) and
// are left out of the comparison. Keys name a step as "workflow/step" (or
// "workflow/*" for every step of a workflow); values are paths into the
// result:
//
//	output.chargedAt            a field of the output
//	output.lines[*].reservedAt  a field of every element of a list
//	state.order.updatedAt       a field of the state patch
//	effects[*].payload.sentAt   a field of every effect's payload
//	error.message               the error message of a failed attempt
//
// Nothing is ignored unless a rule names it.
type Rules map[string][]string

// Config is a verify configuration file (YAML or JSON):
//
//	volatile:
//	  order/ship: [output.shippedAt]
//	skip: [order/notify-partner]
type Config struct {
	// Volatile declares the fields left out of comparisons.
	Volatile Rules `yaml:"volatile" json:"volatile,omitempty"`
	// Skip names steps ("workflow/step" or "workflow/*") that are not
	// re-executed: steps whose every call reaches the outside world (a
	// payment gateway, a partner's API) and cannot run in a check.
	Skip []string `yaml:"skip" json:"skip,omitempty"`
}

// LoadConfig reads a verify configuration file and checks every key and
// path.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks every rule key, path and skipped step.
func (c Config) Validate() error {
	for _, k := range c.Skip {
		if !validKey(k) {
			return fmt.Errorf("skip: %q: want workflow/step or workflow/*", k)
		}
	}
	return c.Volatile.Validate()
}

// Only returns the part of c that applies to workflow.
func (c Config) Only(workflowName string) Config {
	out := Config{Volatile: c.Volatile.Only(workflowName)}
	for _, k := range c.Skip {
		if strings.HasPrefix(k, workflowName+"/") {
			out.Skip = append(out.Skip, k)
		}
	}
	return out
}

// Skips reports whether step of workflow is declared not re-executable.
func (c Config) Skips(workflowName, step string) bool {
	return slices.Contains(c.Skip, workflowName+"/"+step) || slices.Contains(c.Skip, workflowName+"/*")
}

func validKey(key string) bool {
	wf, st, ok := strings.Cut(key, "/")
	return ok && wf != "" && st != ""
}

// Validate checks every key and path.
func (r Rules) Validate() error {
	for key, paths := range r {
		if !validKey(key) {
			return fmt.Errorf("volatile: key %q: want workflow/step or workflow/*", key)
		}
		for _, p := range paths {
			if _, err := parsePath(p); err != nil {
				return fmt.Errorf("volatile: %s: %w", key, err)
			}
		}
	}
	return nil
}

// For returns the paths declared volatile for step of workflow.
func (r Rules) For(workflowName, step string) []string {
	out := slices.Clone(r[workflowName+"/"+step])
	return append(out, r[workflowName+"/*"]...)
}

// Only returns the rules that apply to workflow.
func (r Rules) Only(workflowName string) Rules {
	out := Rules{}
	for k, v := range r {
		if strings.HasPrefix(k, workflowName+"/") {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// segment is one step of a path: a field name, an index, or every
// element ("*").
type segment struct {
	field string
	index int  // -1: not an index
	all   bool // [*]
}

// parsePath splits "a.b[2].c[*]" into segments.
func parsePath(p string) ([]segment, error) {
	if p == "" {
		return nil, fmt.Errorf("empty path")
	}
	var segs []segment
	for _, part := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" && (len(segs) == 0 || rest == "") {
			return nil, fmt.Errorf("path %q: empty field name", p)
		}
		if name != "" {
			segs = append(segs, segment{field: name, index: -1})
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, fmt.Errorf("path %q: missing ]", p)
			}
			switch n, err := strconv.Atoi(idx); {
			case idx == "*":
				segs = append(segs, segment{index: -1, all: true})
			case err == nil && n >= 0:
				segs = append(segs, segment{index: n})
			default:
				return nil, fmt.Errorf("path %q: index %q is not a number or *", p, idx)
			}
			if after != "" && !strings.HasPrefix(after, "[") {
				return nil, fmt.Errorf("path %q: unexpected %q after ]", p, after)
			}
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return segs, nil
}

// drop removes the value at path from doc (a decoded JSON value), wherever
// it exists; a path that does not match is no error.
func drop(doc any, segs []segment) {
	if len(segs) == 0 {
		return
	}
	s, last := segs[0], len(segs) == 1
	switch v := doc.(type) {
	case map[string]any:
		if s.field == "" {
			return
		}
		if last {
			delete(v, s.field)
			return
		}
		drop(v[s.field], segs[1:])
	case []any:
		switch {
		case s.all:
			for i := range v {
				if last {
					v[i] = nil
				} else {
					drop(v[i], segs[1:])
				}
			}
		case s.index >= 0 && s.index < len(v):
			if last {
				v[s.index] = nil
				return
			}
			drop(v[s.index], segs[1:])
		}
	}
}
