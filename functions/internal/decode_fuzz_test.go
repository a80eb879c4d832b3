package internal_test

import (
	"errors"
	"testing"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows"
)

// FuzzDecode feeds SQS and Kinesis record bodies to the trigger decoder
// with the OMS bindings: it never panics, every rejection wraps
// ErrMalformed, and what it accepts asks for exactly one thing.
func FuzzDecode(f *testing.F) {
	reg := step.NewRegistry()
	workflows.Register(reg)
	defs, err := workflows.Definitions(reg)
	if err != nil {
		f.Fatal(err)
	}
	d := internal.NewDecoder(func() []*workflow.Definition { return defs })
	for _, seed := range []string{
		`{"ordo":"continue","run":"order/o-1"}`,
		`{"ordo":"start","workflow":"order","input":{},"key":"k"}`,
		`{"ordo":"event","run":"order/o-1","name":"approved","input":{"by":"ops"}}`,
		`{"ordo":"complete","token":"eA.AAAA","input":"ok"}`,
		`{"ordo":"complete","token":"eA.AAAA","error":{"message":"no","terminal":true}}`,
		`{"workflow":"order","input":{"orderId":"o-1"},"key":"o-1"}`,
		`{"type":"refund","refund":{"orderId":"o-1","amount":5}}`,
		`{"type":"return","return":{"orderId":"o-1"}}`,
		`{"orderId":"o-9","items":[]}`,
		`[1,2,3]`, `"text"`, `null`, `{"ordo":7}`, "\xff\xfe",
	} {
		for _, ch := range []string{"sqs:orders", "kinesis:orders", "sqs:concessions", "sqs:other"} {
			f.Add(ch, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, channel string, body []byte) {
		m, err := d.Decode(channel, "fuzz-1", body)
		if err != nil {
			if !errors.Is(err, internal.ErrMalformed) {
				t.Fatalf("Decode error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		intents := 0
		for _, set := range []bool{m.Workflow != "", m.Token != "", m.Event != "", m.Run != "" && m.Event == ""} {
			if set {
				intents++
			}
		}
		if intents != 1 {
			t.Fatalf("Decode(%q) = %+v: %d intents, want 1", body, m, intents)
		}
	})
}
