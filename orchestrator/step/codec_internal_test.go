package step

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

var rawSeeds = []string{
	`{"orderId":"ord_8f14e45fceea167a","amount":4200,"currency":"EUR"}`,
	` {"a": 1} `, "{\"a\":\n[1, 2]}", `"x y"`, `"a<b"`, `{"k":"\u2028"}`, "\"\xe2\x80\xa8\"", `[1,2,3]`,
	`null`, `true`, `1e3`, `"esc\"aped \\ "`, `{`, `{"a":}`, `01`, `"\x01"`, ``, ` `, `{}x`, `[]`, `{"a":"&amp;"}`,
}

// FuzzEncodeOutput checks that encodeOutput gives what json.Marshal gives
// for a json.RawMessage, output and error alike.
func FuzzEncodeOutput(f *testing.F) {
	for _, s := range rawSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := json.Marshal(json.RawMessage(b))
		got, gerr := encodeOutput(json.RawMessage(b))
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("encodeOutput(%q) = %q, %v; json.Marshal: %q, %v", b, got, gerr, want, werr)
		}
	})
}

// FuzzDecodeInput checks that decodeInput into a json.RawMessage gives
// what json.Unmarshal gives, value and error alike.
func FuzzDecodeInput(f *testing.F) {
	for _, s := range rawSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got json.RawMessage
		werr := json.Unmarshal(b, &want)
		gerr := decodeInput(b, &got)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("decodeInput(%q) = %q, %v; json.Unmarshal: %q, %v", b, got, gerr, want, werr)
		}
	})
}

func BenchmarkFuncRaw(b *testing.B) {
	h := Func(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	req := Request{Step: "s", Input: json.RawMessage(rawSeeds[0])}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
