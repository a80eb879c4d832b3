package sensitive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
)

var (
	// An envelope object, as JSON writes it (compact or indented).
	envelopeRE = regexp.MustCompile(`\{\s*"\$ordo\.enc"\s*:\s*"[^"\\]*"\s*\}`)
	// The same inside a JSON string (a document quoted in a message).
	quotedRE = regexp.MustCompile(`\{\s*\\"\$ordo\.enc\\"\s*:\s*\\"[^"\\]*\\"\s*\}`)
	// What is left: the envelope key with any string value, even one cut
	// short; and the same inside a JSON string.
	fieldRE2  = regexp.MustCompile(`("\$ordo\.enc"\s*:\s*)"[^"\\]*"?`)
	quotedRE2 = regexp.MustCompile(`(\\"\$ordo\.enc\\"\s*:\s*)\\"[^"\\]*(\\")?`)
)

// Redact returns doc (JSON, or any text holding JSON) with every envelope
// replaced by the string "[redacted]". It works on the bytes, so it
// serves as the last step before anything is shown: an API response, a
// CLI line, a log record.
func Redact(doc []byte) []byte {
	if !Contains(doc) && !containsQuoted(doc) {
		return doc
	}
	doc = envelopeRE.ReplaceAllLiteral(doc, []byte(`"`+Redacted+`"`))
	doc = quotedRE.ReplaceAllLiteral(doc, []byte(`\"`+Redacted+`\"`))
	doc = fieldRE2.ReplaceAll(doc, []byte(`${1}"`+Redacted+`"`))
	return quotedRE2.ReplaceAll(doc, []byte(`${1}\"`+Redacted+`\"`))
}

// RedactText is Redact for a string.
func RedactText(s string) string { return string(Redact([]byte(s))) }

func containsQuoted(doc []byte) bool { return bytes.Contains(doc, []byte(`\"`+Field+`\"`)) }

// Keep prepares an operator's edit of a sealed document (a resubmitted
// step input or state patch) for the journal: where original holds an
// envelope, an edit that still reads "[redacted]" (what the operator was
// shown) keeps the envelope, and any other value there is sealed: a
// position that was sealed stays sealed. Then the declared paths are
// sealed as in SealPaths.
func Keep(ctx context.Context, s Sealer, edited, original json.RawMessage, paths [][]string, where string) (json.RawMessage, error) {
	if len(edited) == 0 {
		return edited, nil
	}
	if Contains(original) {
		ev, err := decode(edited)
		if err != nil {
			return nil, fmt.Errorf("seal %s: not JSON: %w", where, err)
		}
		ov, err := decode(original)
		if err != nil {
			return nil, fmt.Errorf("seal %s: the original is not JSON: %w", where, err)
		}
		if ev, err = keep(ctx, s, ev, ov, where); err != nil {
			return nil, err
		}
		if edited, err = json.Marshal(ev); err != nil {
			return nil, err
		}
	}
	return SealPaths(ctx, s, edited, paths, where)
}

func keep(ctx context.Context, s Sealer, edited, original any, at string) (any, error) {
	if orig, ok := IsEnvelope(original); ok {
		if str, _ := edited.(string); str == Redacted {
			return map[string]any{Field: orig}, nil
		}
		if _, ok := IsEnvelope(edited); ok || edited == nil {
			return edited, nil
		}
		return seal(ctx, s, edited, at)
	}
	var err error
	switch e := edited.(type) {
	case map[string]any:
		o, _ := original.(map[string]any)
		for k, child := range e {
			if oc, ok := o[k]; ok {
				if e[k], err = keep(ctx, s, child, oc, at+"."+k); err != nil {
					return nil, err
				}
			}
		}
	case []any:
		o, _ := original.([]any)
		for i := range min(len(e), len(o)) {
			if e[i], err = keep(ctx, s, e[i], o[i], at+"."+strconv.Itoa(i)); err != nil {
				return nil, err
			}
		}
	}
	return edited, nil
}
