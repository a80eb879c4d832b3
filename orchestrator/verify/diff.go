package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Diff is one difference between what the journal recorded and what the
// current code gave: a path and the two values as JSON ("" when absent).
type Diff struct {
	Path     string `json:"path"`
	Recorded string `json:"recorded,omitempty"`
	Got      string `json:"got,omitempty"`
}

func (d Diff) String() string {
	return fmt.Sprintf("%s: recorded %s, got %s", d.Path, orAbsent(d.Recorded), orAbsent(d.Got))
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// decode parses JSON keeping numbers exact.
func decode(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// diffJSON lists the differences between two decoded JSON values, by
// path, objects key by key and arrays element by element.
func diffJSON(path string, rec, got any, out []Diff) []Diff {
	switch r := rec.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(r)+len(g))
		for k := range r {
			keys = append(keys, k)
		}
		for k := range g {
			if _, dup := r[k]; !dup {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			rv, rok := r[k]
			gv, gok := g[k]
			p := join(path, k)
			switch {
			case !rok:
				out = append(out, Diff{Path: p, Got: encode(gv)})
			case !gok:
				out = append(out, Diff{Path: p, Recorded: encode(rv)})
			default:
				out = diffJSON(p, rv, gv, out)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			break
		}
		for i := range max(len(r), len(g)) {
			p := path + "[" + strconv.Itoa(i) + "]"
			switch {
			case i >= len(r):
				out = append(out, Diff{Path: p, Got: encode(g[i])})
			case i >= len(g):
				out = append(out, Diff{Path: p, Recorded: encode(r[i])})
			default:
				out = diffJSON(p, r[i], g[i], out)
			}
		}
		return out
	}
	if a, b := encode(rec), encode(got); a != b {
		out = append(out, Diff{Path: orRoot(path), Recorded: a, Got: b})
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
