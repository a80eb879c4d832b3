// Package canonjson tells whether raw JSON is already in the form
// encoding/json's Marshal writes, so that encoders may copy it as is
// instead of compacting and escaping it again.
package canonjson

import "encoding/json"

// Is reports whether raw is JSON that json.Marshal copies as is: valid,
// no whitespace outside strings, no <, > or &, no U+2028 or U+2029.
func Is(raw []byte) bool {
	inString, escaped := false, false
	for i, c := range raw {
		switch {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && (raw[i+2] == 0xA8 || raw[i+2] == 0xA9):
			return false
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return json.Valid(raw)
}
