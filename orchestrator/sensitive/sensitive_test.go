package sensitive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "input.payment.cardNumber", want: "input.payment.cardNumber"},
		{in: "state.card", want: "state.card"},
		{in: "steps.charge-payment.output.token", want: "steps.charge-payment.output.token"},
		{in: "steps.issue.output", want: "steps.issue.output"},
		{in: "input.items.*.serial", want: "input.items.*.serial"},
		{in: "input", err: "name a field of input"},
		{in: "output.card", err: "must start with input, state or steps"},
		{in: "steps.charge.input.card", err: "want steps.<step>.output"},
		{in: "input.pay ment", err: `field 1 "pay ment"`},
		{in: "input..card", err: `field 1 ""`},
	} {
		p, err := sensitive.ParsePath(tc.in)
		switch {
		case tc.err != "":
			if !errors.Is(err, sensitive.ErrBadPath) || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParsePath(%q) = %v, want ErrBadPath naming the path and %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParsePath(%q) = %v", tc.in, err)
		case p.String() != tc.want:
			t.Errorf("ParsePath(%q).String() = %q", tc.in, p.String())
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	k := localkey.Random()
	doc := json.RawMessage(`{"a":{"card":"4242424242424242","n":7},"items":[{"s":"x1"},{"s":"x2"}],"keep":"me"}`)
	sealed, err := sensitive.SealPaths(ctx, k, doc, [][]string{{"a", "card"}, {"items", "*", "s"}, {"absent", "x"}}, "input")
	if err != nil {
		t.Fatal(err)
	}
	// As JSON strings, quotes included: a ciphertext (base64url) may hold
	// "x2" by chance, never a quote.
	for _, clear := range []string{`"4242424242424242"`, `"x1"`, `"x2"`} {
		if strings.Contains(string(sealed), clear) {
			t.Fatalf("sealed %s still holds %q", sealed, clear)
		}
	}
	again, err := sensitive.SealPaths(ctx, k, sealed, [][]string{{"a", "card"}}, "input")
	if err != nil || string(again) != string(sealed) {
		t.Fatalf("sealing a sealed value again changed it: %s, %v", again, err)
	}
	opened, clears, err := sensitive.OpenAll(ctx, k, sealed, "input")
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	_ = json.Unmarshal(opened, &got)
	_ = json.Unmarshal(doc, &want)
	if gb, _ := json.Marshal(got); string(gb) != mustCanon(doc) {
		t.Fatalf("opened %s, want %s", opened, doc)
	}
	if len(clears) != 3 {
		t.Fatalf("clears %q, want the three values", clears)
	}
	if r := string(sensitive.Redact(sealed)); strings.Contains(r, sensitive.Field) || strings.Count(r, sensitive.Redacted) != 3 {
		t.Fatalf("Redact = %s", r)
	}
}

func mustCanon(doc []byte) string {
	var v any
	_ = json.Unmarshal(doc, &v)
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOpenRefusesTamperedAndUnknownKeys(t *testing.T) {
	ctx := context.Background()
	k := localkey.Random()
	s, err := k.Seal(ctx, []byte(`"4242"`))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := sensitive.ParseEnvelope(s)
	e.Body[len(e.Body)-1] ^= 1
	if _, err := k.Open(ctx, e.String()); !errors.Is(err, sensitive.ErrKey) {
		t.Errorf("Open(tampered) = %v, want ErrKey", err)
	}
	if _, err := localkey.Random().Open(ctx, s); !errors.Is(err, sensitive.ErrKey) || !strings.Contains(err.Error(), k.Current()) {
		t.Errorf("Open with another keyring = %v, want ErrKey naming %s", err, k.Current())
	}
	// A key id swapped for another's does not authenticate either.
	e2, _ := sensitive.ParseEnvelope(s)
	other := localkey.NewKey()
	both, _ := localkey.New(localkey.NewKey(), other)
	e2.KeyID = localkey.KeyID(other)
	if _, err := both.Open(ctx, e2.String()); !errors.Is(err, sensitive.ErrKey) {
		t.Errorf("Open with a swapped key id = %v, want ErrKey", err)
	}
	for _, bad := range []string{"", "v2:a:b", "v1::AAAA", "v1:k:!!!", "v1:k:AAAA:"} {
		if _, err := k.Open(ctx, bad); !errors.Is(err, sensitive.ErrMalformed) {
			t.Errorf("Open(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestRedactForms(t *testing.T) {
	for in, want := range map[string]string{
		`{"card":{"$ordo.enc":"v1:k:AAAA"}}`:                         `{"card":"[redacted]"}`,
		"{\n  \"card\": {\n    \"$ordo.enc\": \"v1:k:AAAA\"\n  }\n}": "{\n  \"card\": \"[redacted]\"\n}",
		`{"msg":"input {\"card\":{\"$ordo.enc\":\"v1:k:AAAA\"}}"}`:   `{"msg":"input {\"card\":\"[redacted]\"}"}`,
		`{"$ordo.enc":"v1:k:AAAA","other":1}`:                        `{"$ordo.enc":"[redacted]","other":1}`,
		`{"plain":"value"}`:                                          `{"plain":"value"}`,
	} {
		if got := sensitive.RedactText(in); got != want {
			t.Errorf("RedactText(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestKeepRestoresRedactedAndSealsEditedPositions(t *testing.T) {
	ctx := context.Background()
	k := localkey.Random()
	orig, _ := sensitive.SealPaths(ctx, k, json.RawMessage(`{"card":"4242424242424242","pin":"9876","note":"n"}`), [][]string{{"card"}, {"pin"}}, "input")
	got, err := sensitive.Keep(ctx, k, json.RawMessage(`{"card":"[redacted]","pin":"1111","note":"edited"}`), orig, nil, "input")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "1111") {
		t.Fatalf("a new value at a sealed position stayed clear: %s", got)
	}
	opened, _, err := sensitive.OpenAll(ctx, k, got, "input")
	if err != nil {
		t.Fatal(err)
	}
	if mustCanon(opened) != `{"card":"4242424242424242","note":"edited","pin":"1111"}` {
		t.Fatalf("Keep then open = %s", opened)
	}
}

func ExampleSealPaths() {
	ctx := context.Background()
	keys := localkey.Random()
	sealed, _ := sensitive.SealPaths(ctx, keys, json.RawMessage(`{"orderId":"o-1","card":"4242424242424242"}`),
		[][]string{{"card"}}, "input")
	fmt.Println(string(sensitive.Redact(sealed)))
	opened, _, _ := sensitive.OpenAll(ctx, keys, sealed, "input")
	fmt.Println(string(opened))
	// Output:
	// {"card":"[redacted]","orderId":"o-1"}
	// {"card":"4242424242424242","orderId":"o-1"}
}
