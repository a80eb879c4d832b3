package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// LoadFile reads a YAML or JSON definition from path.
func LoadFile(path string, opts ...BuildOption) (*Definition, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	return Load(b, path, opts...)
}

// Load parses a YAML or JSON definition (JSON is YAML) named file (used in
// error messages), validates it and compiles its expressions. Problems name
// the file, line and step.
func Load(data []byte, file string, opts ...BuildOption) (*Definition, error) {
	cfg := buildConfig{file: file}
	for _, o := range opts {
		o(&cfg)
	}
	if file == "" {
		cfg.file = "definition"
	}
	if len(data) > MaxDefinitionBytes {
		return nil, &InvalidError{Problems: []Problem{{File: cfg.file,
			Msg: fmt.Sprintf("definition of %d bytes: at most %d", len(data), MaxDefinitionBytes)}}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(cfg.file, err)
	}
	if len(root.Content) == 0 {
		return nil, &InvalidError{Problems: []Problem{{File: cfg.file, Msg: "empty definition"}}}
	}
	var d Definition
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, yamlError(cfg.file, err, root.Content[0])
	}
	cfg.lines = lineIndex(root.Content[0])
	if err := d.build(cfg); err != nil {
		return nil, err
	}
	return &d, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns a YAML syntax or type error into an InvalidError with the
// file and line, and, when the document parsed (doc is not nil), the step
// and field written at that line.
func yamlError(file string, err error, doc ...*yaml.Node) error {
	var te *yaml.TypeError
	var probs []Problem
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			probs = append(probs, lineProblem(file, e))
		}
	} else {
		probs = append(probs, lineProblem(file, err.Error()))
	}
	for i := range probs {
		if len(doc) > 0 && probs[i].Line > 0 {
			probs[i].Step, probs[i].Field = lineOwner(doc[0], probs[i].Line)
		}
	}
	return &InvalidError{Problems: probs}
}

// lineOwner finds the step and the (top-level or step-level) field written
// at or above line; either is "" when several share the line (JSON on one
// line), so that no wrong one is named.
func lineOwner(doc *yaml.Node, line int) (step, field string) {
	if doc.Kind != yaml.MappingNode {
		return "", ""
	}
	k, ok := lastAt(doc.Content, 2, line)
	if !ok {
		return "", ""
	}
	key, v := doc.Content[k], doc.Content[k+1]
	if key.Value != "steps" || v.Kind != yaml.SequenceNode {
		return "", key.Value
	}
	n, ok := lastAt(v.Content, 1, line)
	if !ok {
		return "", ""
	}
	item := v.Content[n]
	step = fmt.Sprintf("#%d", n+1)
	if item.Kind != yaml.MappingNode {
		return step, ""
	}
	for j := 0; j+1 < len(item.Content); j += 2 {
		if item.Content[j].Value == "name" && item.Content[j+1].Value != "" {
			step = item.Content[j+1].Value
		}
	}
	if f, ok := lastAt(item.Content, 2, line); ok {
		field = item.Content[f].Value
	}
	return step, field
}

// lastAt returns the index of the last of nodes[0], nodes[stride], ...
// written at or above line; ok is false when there is none, or when the one
// before it starts on the same line.
func lastAt(nodes []*yaml.Node, stride, line int) (int, bool) {
	found := -1
	for i := 0; i < len(nodes); i += stride {
		if nodes[i].Line > line {
			break
		}
		found = i
	}
	if found < 0 || found >= stride && nodes[found-stride].Line == nodes[found].Line {
		return 0, false
	}
	return found, true
}

func lineProblem(file, msg string) Problem {
	p := Problem{File: file, Msg: msg}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = m[2]
	}
	return p
}

// lineIndex maps (step, field) to the line where it is written, falling
// back to the step's first line, then the workflow's field.
func lineIndex(doc *yaml.Node) func(step, field string) int {
	top := map[string]int{}
	steps := map[string]map[string]int{}
	if doc.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Content); i += 2 {
			k, v := doc.Content[i], doc.Content[i+1]
			top[k.Value] = k.Line
			if k.Value != "steps" || v.Kind != yaml.SequenceNode {
				continue
			}
			for n, item := range v.Content {
				fields := map[string]int{"": item.Line}
				name := fmt.Sprintf("#%d", n+1)
				if item.Kind == yaml.MappingNode {
					for j := 0; j+1 < len(item.Content); j += 2 {
						fields[item.Content[j].Value] = item.Content[j].Line
						if item.Content[j].Value == "name" && item.Content[j+1].Value != "" {
							name = item.Content[j+1].Value
						}
					}
				}
				// A duplicate name keeps the later lines: that is the one reported.
				steps[name] = fields
			}
		}
	}
	return func(step, field string) int {
		if step == "" {
			if l, ok := top[field]; ok {
				return l
			}
			return doc.Line // a missing field: point at the document
		}
		f, ok := steps[step]
		if !ok {
			return top["steps"]
		}
		if l, ok := f[field]; ok {
			return l
		}
		return f[""]
	}
}
