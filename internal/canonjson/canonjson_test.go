package canonjson

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Is agrees with json.Marshal: raw JSON it accepts is what Marshal writes
// for it, byte for byte.
func FuzzIs(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a": 1}`, `"<b>"`, `[1,2]`, `"\u2028"`, "\"\u2028\"", `{"s":"a\"b"}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !Is(raw) {
			return
		}
		b, err := json.Marshal(json.RawMessage(raw))
		if err != nil || !bytes.Equal(b, raw) {
			t.Fatalf("Is(%q) but Marshal gives %q, %v", raw, b, err)
		}
	})
}

func TestIs(t *testing.T) {
	for raw, want := range map[string]bool{`{"a":1}`: true, `{"a": 1}`: false, `"<b>"`: false, `"a&b"`: false, "\"\u2029\"": false, `[1,"x y"]`: true, `{`: false} {
		if got := Is([]byte(raw)); got != want {
			t.Errorf("Is(%q) = %v, want %v", raw, got, want)
		}
	}
}
