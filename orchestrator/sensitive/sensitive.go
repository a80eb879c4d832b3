package sensitive

import (
	"context"
	"errors"
)

// Field is the one key of an envelope object.
const Field = "$ordo.enc"

// Redacted replaces a sealed value wherever it is shown.
const Redacted = "[redacted]"

// Errors callers branch on (see the package's error table).
var (
	// ErrKey: the key that sealed a value is not available, or the value
	// does not authenticate under it.
	ErrKey = errors.New("sensitive: key problem")
	// ErrMalformed: an envelope this package cannot read.
	ErrMalformed = errors.New("sensitive: malformed envelope")
	// ErrBadPath: a sensitive path that does not parse.
	ErrBadPath = errors.New("sensitive: bad path")
)

// Sealer encrypts and decrypts single values. Seal returns the envelope's
// string (what goes under Field); Open takes it back. Implementations keep
// old keys so that rotation never strands a value: Open must accept every
// key id they ever sealed with, until those values are gone.
type Sealer interface {
	Seal(ctx context.Context, clear []byte) (string, error)
	Open(ctx context.Context, sealed string) ([]byte, error)
}
