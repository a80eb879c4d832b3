package stephttp

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ordoflow/ordo/orchestrator/step"
)

// Mapping maps function names to the URLs that serve them.
type Mapping map[string]string

// LoadFile reads a mapping from a YAML file of the form
//
//	steps:
//	  concession-receive: http://127.0.0.1:9001/
//	  concession-refund: http://127.0.0.1:9002/refund
func LoadFile(path string) (Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("stephttp: %w", err)
	}
	var doc struct {
		Steps Mapping `yaml:"steps"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("stephttp: %s: %w", path, err)
	}
	if len(doc.Steps) == 0 {
		return nil, fmt.Errorf("stephttp: %s: no steps (want `steps:` mapping function names to URLs)", path)
	}
	if err := doc.Steps.validate(); err != nil {
		return nil, fmt.Errorf("stephttp: %s: %w", path, err)
	}
	return doc.Steps, nil
}

// ParseEnv parses a mapping written as NAME=URL pairs separated by commas
// (the ORDO_STEP_URLS environment variable). An empty string is an empty
// mapping.
func ParseEnv(s string) (Mapping, error) {
	m := Mapping{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, u, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("stephttp: ORDO_STEP_URLS entry %q: want NAME=URL", pair)
		}
		m[strings.TrimSpace(name)] = strings.TrimSpace(u)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("stephttp: ORDO_STEP_URLS: %w", err)
	}
	return m, nil
}

func (m Mapping) validate() error {
	for _, name := range m.Names() {
		u, err := url.Parse(m[name])
		if name == "" {
			return fmt.Errorf("a step with an empty function name")
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("step %s: URL %q is not an http(s) URL", name, m[name])
		}
	}
	return nil
}

// Names returns the mapping's function names, sorted.
func (m Mapping) Names() []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Register registers a Client for each mapped function in reg. A name
// already registered (a Go step of the same name) is an error naming it:
// one function name, one implementation.
func (m Mapping) Register(reg *step.Registry, opts ...Option) error {
	for _, name := range m.Names() {
		if reg.Has(name) {
			return fmt.Errorf("stephttp: step %s is mapped to %s but already registered in-process", name, m[name])
		}
	}
	for _, name := range m.Names() {
		reg.Register(name, NewClient(m[name], opts...))
	}
	return nil
}
