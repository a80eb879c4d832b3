package sensitive

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Roots a sensitive path starts from.
const (
	RootInput = "input" // the run's input
	RootState = "state" // the run's state document (and the patches steps return)
	RootSteps = "steps" // steps.<name>.output: a step's output
)

// Wildcard, as a path field, matches every element of a list or every
// value of an object.
const Wildcard = "*"

// Path is one declared sensitive path, e.g. input.payment.cardNumber,
// state.card, steps.charge.output.token or input.items.*.serial.
type Path struct {
	Root string
	// Step is the step of a steps path.
	Step string
	// Fields lead from the root to the value: object keys, or Wildcard.
	Fields []string
}

var (
	fieldRE = regexp.MustCompile(`^([A-Za-z0-9_$-]+|\*)$`)
	stepRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// ParsePath reads a path: input.<field>…, state.<field>… or
// steps.<step>.output[.<field>…], fields separated by dots, each letters,
// digits, '_', '-', '$' or the wildcard *. Input and state paths name at
// least one field (sealing the whole input or state would hide the values
// keys and conditions are computed from).
func ParsePath(s string) (Path, error) {
	parts := strings.Split(s, ".")
	bad := func(format string, args ...any) (Path, error) {
		return Path{}, fmt.Errorf("%w %q: %s", ErrBadPath, clip(s), fmt.Sprintf(format, args...))
	}
	var p Path
	switch parts[0] {
	case RootInput, RootState:
		p.Root, p.Fields = parts[0], parts[1:]
		if len(p.Fields) == 0 {
			return bad("name a field of %s (e.g. %s.payment.cardNumber)", p.Root, p.Root)
		}
	case RootSteps:
		if len(parts) < 3 || parts[2] != "output" {
			return bad("want steps.<step>.output[.<field>…]")
		}
		if !stepRE.MatchString(parts[1]) {
			return bad("%q is not a step name", parts[1])
		}
		p.Root, p.Step, p.Fields = RootSteps, parts[1], parts[3:]
	default:
		return bad("must start with input, state or steps.<step>.output")
	}
	for i, f := range p.Fields {
		if !fieldRE.MatchString(f) {
			return bad("field %d %q: letters, digits, '_', '-', '$' or *", i+1, clip(f))
		}
	}
	return p, nil
}

// String is the path as declared.
func (p Path) String() string {
	head := p.Root
	if p.Root == RootSteps {
		head = RootSteps + "." + p.Step + ".output"
	}
	return strings.Join(append([]string{head}, p.Fields...), ".")
}

// OutputPaths returns the fields of the paths in ps into step's output;
// for a map item (index > 0, 1-based) those under the item's place in the
// list (a first field of * or its 0-based position), without that field.
func OutputPaths(ps []Path, step string, index int) [][]string {
	paths := Select(ps, RootSteps, step)
	if index == 0 {
		return paths
	}
	var out [][]string
	for _, p := range paths {
		if len(p) > 0 && (p[0] == Wildcard || p[0] == strconv.Itoa(index-1)) {
			out = append(out, p[1:])
		}
	}
	return out
}

// Select returns the fields of the paths in ps with root (and, for steps,
// step), in order.
func Select(ps []Path, root, step string) [][]string {
	var out [][]string
	for _, p := range ps {
		if p.Root == root && (root != RootSteps || p.Step == step) {
			out = append(out, p.Fields)
		}
	}
	return out
}
