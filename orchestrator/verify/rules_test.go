package verify

import (
	"slices"
	"testing"
)

func TestDropAndDiff(t *testing.T) {
	cases := []struct {
		name, rec, got string
		volatile       []string
		want           []string // diff paths
	}{
		{"equal", `{"output":{"a":1}}`, `{"output":{"a":1}}`, nil, nil},
		{"changed field", `{"output":{"a":1}}`, `{"output":{"a":2}}`, nil, []string{"output.a"}},
		{"volatile field", `{"output":{"a":1,"at":"x"}}`, `{"output":{"a":1,"at":"y"}}`, []string{"output.at"}, nil},
		{"every effect's payload field",
			`{"effects":[{"payload":{"id":1,"sentAt":"x"}},{"payload":{"id":2,"sentAt":"x"}}]}`,
			`{"effects":[{"payload":{"id":1,"sentAt":"y"}},{"payload":{"id":2,"sentAt":"z"}}]}`,
			[]string{"effects[*].payload.sentAt"}, nil},
		{"only the named element", `{"output":{"l":[1,2]}}`, `{"output":{"l":[3,4]}}`, []string{"output.l[0]"}, []string{"output.l[1]"}},
		{"added and removed", `{"output":{"a":1}}`, `{"output":{"b":1}}`, nil, []string{"output.a", "output.b"}},
		{"longer list", `{"output":[1]}`, `{"output":[1,2]}`, nil, []string{"output[1]"}},
		{"type change", `{"output":{"a":1}}`, `{"output":"a"}`, nil, []string{"output"}},
		{"big numbers stay exact", `{"output":12345678901234567890}`, `{"output":12345678901234567891}`, nil, []string{"output"}},
		{"a path that matches nothing", `{"output":1}`, `{"output":1}`, []string{"state.x[*].y"}, nil},
	}
	for _, c := range cases {
		rec, _ := decode([]byte(c.rec))
		got, _ := decode([]byte(c.got))
		for _, p := range c.volatile {
			segs, err := parsePath(p)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			drop(rec, segs)
			drop(got, segs)
		}
		var paths []string
		for _, d := range diffJSON("", rec, got, nil) {
			paths = append(paths, d.Path)
		}
		if !slices.Equal(paths, c.want) {
			t.Errorf("%s: diffs at %q, want %q", c.name, paths, c.want)
		}
	}
}
