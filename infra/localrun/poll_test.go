package localrun

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSQSFailedIDs(t *testing.T) {
	msgs := []sqstypes.Message{{MessageId: aws.String("a")}, {MessageId: aws.String("b")}}
	cases := []struct {
		name   string
		report bool
		resp   string
		failed []string
		err    bool
	}{
		{"no ReportBatchItemFailures ignores the response", false, `{"batchItemFailures":[{"itemIdentifier":"a"}]}`, nil, false},
		{"null response", true, `null`, nil, false},
		{"empty list", true, `{"batchItemFailures":[]}`, nil, false},
		{"one failed", true, `{"batchItemFailures":[{"itemIdentifier":"b"}]}`, []string{"b"}, false},
		{"unknown id fails all", true, `{"batchItemFailures":[{"itemIdentifier":"zz"}]}`, []string{"a", "b"}, true},
		{"empty id fails all", true, `{"batchItemFailures":[{"itemIdentifier":""}]}`, []string{"a", "b"}, true},
		{"unparsable fails all", true, `"oops"`, []string{"a", "b"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &sqsPoller{ev: EventSpec{ReportBatchItemFailures: c.report}}
			got, err := p.failedIDs([]byte(c.resp), msgs)
			if (err != nil) != c.err {
				t.Errorf("err = %v, want error %v", err, c.err)
			}
			if len(got) != len(c.failed) {
				t.Fatalf("failed = %v, want %v", got, c.failed)
			}
			for _, id := range c.failed {
				if !got[id] {
					t.Errorf("failed = %v, want %v", got, c.failed)
				}
			}
		})
	}
}

func TestSubHandler(t *testing.T) {
	tmpl := map[string]interface{}{"Parameters": map[string]interface{}{"Env": map[string]interface{}{"Default": "dev"}}}
	got := subHandler("Fn::Sub", "${AWS::StackName}-${Env}-${Queue.Arn}-${!Literal}", tmpl)
	want := "{{ordo:Ref:AWS::StackName}}-dev-{{ordo:GetAtt:Queue.Arn}}-${Literal}"
	if got != want {
		t.Errorf("Sub = %q, want %q", got, want)
	}
	got = subHandler("Fn::Sub", []interface{}{"${X}/${Y}", map[string]interface{}{"X": "x"}}, tmpl)
	if want := "x/{{ordo:Ref:Y}}"; got != want {
		t.Errorf("Sub list form = %q, want %q", got, want)
	}
}
