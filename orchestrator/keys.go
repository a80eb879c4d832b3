package orchestrator

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxKeyBytes bounds a run key: with the workflow name it makes the run id,
// which journals use as a partition key (DynamoDB allows 2,048 bytes).
const MaxKeyBytes = 512

// CheckKey refuses run keys journals cannot keep apart or store: empty,
// longer than MaxKeyBytes, invalid UTF-8 (two invalid keys would decode to
// the same replacement characters and collide), or holding control
// characters.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty run key", ErrBadInput)
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: run key of %d bytes: at most %d", ErrBadInput, len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: run key %.40q… is not valid UTF-8", ErrBadInput, key)
	}
	for i, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: run key has control character %U at byte %d", ErrBadInput, r, i)
		}
	}
	return nil
}
