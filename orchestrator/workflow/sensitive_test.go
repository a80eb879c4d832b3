package workflow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func TestSensitivePathsValidated(t *testing.T) {
	t.Parallel()
	const steps = `
steps:
  - {name: charge, function: charge}
  - {name: price, type: pass, output: '{"t": 1}'}
  - {name: gate, type: pass, output: '1', when: 'input.payment.card != ""', after: [charge]}
`
	for _, tc := range []struct{ name, sensitive, want string }{
		{"bad root", "[output.card]", `path 1: sensitive: bad path "output.card": must start with input, state or steps`},
		{"unknown step", "[steps.nosuch.output.token]", `path 1 "steps.nosuch.output.token": unknown step "nosuch"`},
		{"pass step output", "[steps.price.output.t]", `a pass step's output is computed`},
		{"second path bad", "[input.ok, 'input.a b']", `path 2: sensitive: bad path "input.a b"`},
		{"read by a condition", "[input.payment.card]", `step "gate": when: reads the sensitive value input.payment.card`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "name: w\nsensitive: " + tc.sensitive + steps
			_, err := workflow.Load([]byte(src), "w.yaml")
			if !errors.Is(err, workflow.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want a problem containing %q", err, tc.want)
			}
			if tc.name != "read by a condition" && !strings.Contains(err.Error(), "w.yaml:2: sensitive:") {
				t.Errorf("error %q does not point at the sensitive line", err)
			}
		})
	}
	d, err := workflow.Load([]byte("name: w\nsensitive: [input.payment.cardNumber, 'steps.charge.output', state.card, 'input.items.*.serial']"+steps), "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range d.SensitivePaths() {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "input.payment.cardNumber steps.charge.output state.card input.items.*.serial" {
		t.Fatalf("SensitivePaths = %v", got)
	}
}
