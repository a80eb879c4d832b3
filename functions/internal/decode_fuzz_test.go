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
		// Lambda destination records: an asynchronous step's result, a
		// failed function, and malformed ones (no attempt, not a request).
		`{"version":"1.0","timestamp":"2026-12-06T01:02:03.456Z","requestContext":{"requestId":"r-1","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:ordo-order-ship:$LATEST","condition":"Success","approximateInvokeCount":1},"requestPayload":{"workflow":"order","run":"order/o-1","step":"ship","function":"order-ship","attempt":1,"idempotencyKey":"order/o-1/ship","input":{}},"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":{"output":{"shipped":true}}}`,
		`{"version":"1.0","requestContext":{"condition":"RetriesExhausted","approximateInvokeCount":1},"requestPayload":{"run":"order/o-1","step":"ship","attempt":2,"index":3},"responseContext":{"statusCode":200,"functionError":"Unhandled"},"responsePayload":{"errorMessage":"boom","errorType":"Runtime.ExitError"}}`,
		`{"version":"1.0","requestContext":{"condition":"Success"},"requestPayload":{"run":"order/o-1","step":"ship"},"responseContext":{"statusCode":200},"responsePayload":{}}`,
		`{"version":"1.0","requestContext":{"condition":"Success"},"requestPayload":"order/o-1","responseContext":{},"responsePayload":null}`,
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
		for _, set := range []bool{m.Workflow != "", m.Token != "", m.Event != "", m.Run != "" && m.Event == "" && m.Result == nil,
			m.Result != nil && m.Run != "" && m.Result.Attempt > 0} {
			if set {
				intents++
			}
		}
		if intents != 1 {
			t.Fatalf("Decode(%q) = %+v: %d intents, want 1", body, m, intents)
		}
	})
}
