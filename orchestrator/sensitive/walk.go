package sensitive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Contains reports whether doc may hold an envelope (a cheap test that
// spares the callers of OpenAll a decode of every document).
func Contains(doc []byte) bool { return bytes.Contains(doc, []byte(`"`+Field+`"`)) }

// IsEnvelope reports whether v (decoded JSON) is an envelope, and its
// string.
func IsEnvelope(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	s, ok := m[Field].(string)
	return s, ok
}

func decode(doc []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func seal(ctx context.Context, s Sealer, v any, at string) (any, error) {
	clear, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	sealed, err := s.Seal(ctx, clear)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", at, err)
	}
	return map[string]any{Field: sealed}, nil
}

// SealPaths seals the values at paths (fields from doc's root; an empty
// path is doc itself) and returns the new document. Values already sealed
// stay as they are; paths that lead nowhere are skipped; doc comes back
// unchanged when nothing was sealed.
func SealPaths(ctx context.Context, s Sealer, doc json.RawMessage, paths [][]string, where string) (json.RawMessage, error) {
	if len(paths) == 0 || len(doc) == 0 {
		return doc, nil
	}
	v, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("seal %s: not JSON: %w", where, err)
	}
	changed := false
	for _, p := range paths {
		if v, err = sealAt(ctx, s, v, p, where, &changed); err != nil {
			return nil, err
		}
	}
	if !changed {
		return doc, nil
	}
	return json.Marshal(v)
}

func sealAt(ctx context.Context, s Sealer, v any, path []string, at string, changed *bool) (any, error) {
	if _, ok := IsEnvelope(v); ok {
		return v, nil
	}
	if len(path) == 0 {
		if v == nil {
			return v, nil // nothing to hide
		}
		*changed = true
		return seal(ctx, s, v, at)
	}
	f, rest := path[0], path[1:]
	var err error
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if f == Wildcard || f == k {
				if x[k], err = sealAt(ctx, s, child, rest, at+"."+k, changed); err != nil {
					return nil, err
				}
			}
		}
	case []any:
		for i, child := range x {
			if f == Wildcard || f == strconv.Itoa(i) {
				if x[i], err = sealAt(ctx, s, child, rest, at+"."+strconv.Itoa(i), changed); err != nil {
					return nil, err
				}
			}
		}
	}
	return v, nil
}

// OpenAll replaces every envelope in doc with its clear value. It returns
// the clear document and the clear strings it revealed (the leaves of the
// values opened), which SealEqual and Scrub use to keep a step from
// journaling them again in clear.
func OpenAll(ctx context.Context, s Sealer, doc json.RawMessage, where string) (json.RawMessage, []string, error) {
	if !Contains(doc) {
		return doc, nil, nil
	}
	v, err := decode(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: not JSON: %w", where, err)
	}
	var clears []string
	v, err = openAll(ctx, s, v, where, &clears)
	if err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(v)
	return out, clears, err
}

func openAll(ctx context.Context, s Sealer, v any, at string, clears *[]string) (any, error) {
	if sealed, ok := IsEnvelope(v); ok {
		clear, err := s.Open(ctx, sealed)
		if err != nil {
			return nil, fmt.Errorf("open the sealed value at %s: %w", at, err)
		}
		cv, err := decode(clear)
		if err != nil {
			return nil, fmt.Errorf("open the sealed value at %s: %w: its clear text is not JSON", at, ErrMalformed)
		}
		leaves(cv, clears)
		return cv, nil
	}
	var err error
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if x[k], err = openAll(ctx, s, child, at+"."+k, clears); err != nil {
				return nil, err
			}
		}
	case []any:
		for i, child := range x {
			if x[i], err = openAll(ctx, s, child, at+"."+strconv.Itoa(i), clears); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func leaves(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case json.Number:
		*out = append(*out, x.String())
	case map[string]any:
		for _, c := range x {
			leaves(c, out)
		}
	case []any:
		for _, c := range x {
			leaves(c, out)
		}
	}
}

// SealEqual seals every string in doc equal to one of clears: a value a
// step received sealed stays sealed wherever the step hands it back
// (an echoed input, an effect's payload), declared or not.
func SealEqual(ctx context.Context, s Sealer, doc json.RawMessage, clears []string, where string) (json.RawMessage, error) {
	if len(clears) == 0 || len(doc) == 0 || !containsAny(doc, clears) {
		return doc, nil
	}
	set := make(map[string]bool, len(clears))
	for _, c := range clears {
		set[c] = true
	}
	v, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("seal %s: not JSON: %w", where, err)
	}
	changed := false
	if v, err = sealEqual(ctx, s, v, set, where, &changed); err != nil || !changed {
		return doc, err
	}
	return json.Marshal(v)
}

func containsAny(doc []byte, clears []string) bool {
	for _, c := range clears {
		if c != "" && bytes.Contains(doc, []byte(c)) {
			return true
		}
	}
	return false
}

func sealEqual(ctx context.Context, s Sealer, v any, set map[string]bool, at string, changed *bool) (any, error) {
	var err error
	switch x := v.(type) {
	case string:
		if set[x] {
			*changed = true
			return seal(ctx, s, x, at)
		}
	case json.Number:
		if set[x.String()] {
			*changed = true
			return seal(ctx, s, x, at)
		}
	case map[string]any:
		if _, ok := IsEnvelope(x); ok {
			return v, nil
		}
		for k, child := range x {
			if x[k], err = sealEqual(ctx, s, child, set, at+"."+k, changed); err != nil {
				return nil, err
			}
		}
	case []any:
		for i, child := range x {
			if x[i], err = sealEqual(ctx, s, child, set, at+"."+strconv.Itoa(i), changed); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// MinScrub is the shortest clear value Scrub replaces in text: shorter
// ones would mangle ordinary words.
const MinScrub = 4

// Scrub replaces in text every occurrence of a clear value (at least
// MinScrub bytes) with Redacted: a step's error message may quote what it
// received.
func Scrub(text string, clears []string) string {
	for _, c := range clears {
		if len(c) >= MinScrub {
			text = strings.ReplaceAll(text, c, Redacted)
		}
	}
	return text
}
