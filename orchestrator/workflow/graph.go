package workflow

import (
	"fmt"
	"strings"
)

// Step statuses understood by Dot and Mermaid; any other status draws the
// step uncoloured.
var statusColors = []struct{ status, fill, stroke string }{
	{"succeeded", "#c8e6c9", "#2e7d32"},
	{"failed", "#ffcdd2", "#c62828"},
	{"running", "#bbdefb", "#1565c0"},
	{"skipped", "#eeeeee", "#9e9e9e"},
	{"pending", "#ffffff", "#616161"},
	{"review", "#fff9c4", "#f9a825"},
}

func statusColor(status string) (fill, stroke string, ok bool) {
	for _, c := range statusColors {
		if c.status == status {
			return c.fill, c.stroke, true
		}
	}
	return "", "", false
}

// maxLabel bounds a condition drawn on an edge, in runes.
const maxLabel = 40

// shorten collapses whitespace in a CEL expression and cuts it to maxLabel
// runes.
func shorten(expr string) string {
	s := strings.Join(strings.Fields(expr), " ")
	if r := []rune(s); len(r) > maxLabel {
		s = string(r[:maxLabel-1]) + "…"
	}
	return s
}

// nodeKind is the second line of a step's label: the function of a task
// step, else the step type (with the delay of a wait step).
func nodeKind(s *Node) string {
	switch t := s.StepType(); t {
	case TypeTask:
		return s.Function
	case TypeWait:
		if s.Until != "" {
			return "wait until " + shorten(s.Until)
		}
		return "wait " + s.Duration.D().String()
	default:
		return t
	}
}

// Dot renders the DAG in Graphviz DOT. Nodes are labelled with the step's
// name and its function (task steps) or type; edges follow After, dashed
// and labelled with the (shortened) condition when the later step has one.
// status, which may be nil, maps step names to "succeeded", "failed",
// "running", "skipped", "pending" or "review" and colours those steps. The
// output is deterministic: steps and edges in declaration order.
func (d *Definition) Dot(status map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(d.Name))
	b.WriteString("\trankdir=TB;\n")
	b.WriteString("\tnode [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n")
	b.WriteString("\tedge [fontname=\"Helvetica\", fontsize=10];\n")
	for i := range d.Steps {
		s := &d.Steps[i]
		label := s.Name + "\n" + nodeKind(s)
		if s.When != "" && len(s.After) == 0 {
			label += "\nif " + shorten(s.When)
		}
		attrs := []string{"label=" + dotQuote(label)}
		switch s.StepType() {
		case TypePass:
			attrs = append(attrs, "shape=ellipse")
		case TypeFail:
			attrs = append(attrs, "shape=octagon")
		case TypeWait:
			attrs = append(attrs, "shape=parallelogram")
		}
		if fill, stroke, ok := statusColor(status[s.Name]); ok {
			attrs = append(attrs, "fillcolor="+dotQuote(fill), "color="+dotQuote(stroke))
		}
		fmt.Fprintf(&b, "\t%s [%s];\n", dotQuote(s.Name), strings.Join(attrs, ", "))
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		for _, a := range s.After {
			fmt.Fprintf(&b, "\t%s -> %s", dotQuote(a), dotQuote(s.Name))
			if s.When != "" {
				fmt.Fprintf(&b, " [label=%s, style=dashed]", dotQuote(shorten(s.When)))
			}
			b.WriteString(";\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote quotes s as a DOT string; newlines become centred line breaks.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// Mermaid renders the DAG as a Mermaid flowchart, with the same content as
// Dot. Steps get the ids n1, n2, ... (declaration order) so that any step
// name is safe; status colours become classDef classes named after the
// status.
func (d *Definition) Mermaid(status map[string]string) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	ids := make(map[string]string, len(d.Steps))
	for i := range d.Steps {
		ids[d.Steps[i].Name] = fmt.Sprintf("n%d", i+1)
	}
	id := func(name string) string {
		if v, ok := ids[name]; ok {
			return v
		}
		return "unknown_" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, name)
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		label := mermaidEscape(s.Name) + "<br/>" + mermaidEscape(nodeKind(s))
		if s.When != "" && len(s.After) == 0 {
			label += "<br/>if " + mermaidEscape(shorten(s.When))
		}
		open, end := "[", "]"
		switch s.StepType() {
		case TypePass:
			open, end = "([", "])"
		case TypeFail:
			open, end = "{{", "}}"
		case TypeWait:
			open, end = "[/", "/]"
		}
		fmt.Fprintf(&b, "\t%s%s\"%s\"%s\n", id(s.Name), open, label, end)
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		for _, a := range s.After {
			if s.When != "" {
				fmt.Fprintf(&b, "\t%s -.->|\"%s\"| %s\n", id(a), mermaidEscape(shorten(s.When)), id(s.Name))
			} else {
				fmt.Fprintf(&b, "\t%s --> %s\n", id(a), id(s.Name))
			}
		}
	}
	for _, c := range statusColors {
		var members []string
		for i := range d.Steps {
			if status[d.Steps[i].Name] == c.status {
				members = append(members, id(d.Steps[i].Name))
			}
		}
		if len(members) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\tclassDef %s fill:%s,stroke:%s\n", c.status, c.fill, c.stroke)
		fmt.Fprintf(&b, "\tclass %s %s\n", strings.Join(members, ","), c.status)
	}
	return b.String()
}

// mermaidEscape replaces the characters that end or confuse a quoted
// Mermaid label with entity codes.
var mermaidEscape = strings.NewReplacer(
	"#", "#35;",
	`"`, "#34;",
	"<", "#60;",
	">", "#62;",
	"&", "#38;",
	"|", "#124;",
	"\n", " ",
).Replace
