// Package localkey is the sensitive.Sealer of the embedded runtime and the
// CLI: AES-256-GCM under keys kept in a file beside the journal
// (<journal>.sealing-key, mode 0600), one hex key per line, the first
// sealing and every one opening. Rotate by adding a new key as the first
// line; values sealed under older keys still open while their lines stay.
//
// A key's id (in every envelope it seals) is derived from the key itself,
// so two processes with the same file agree on it and a missing or wrong
// key is named by id in the error.
package localkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/ordoflow/ordo/internal/keyfile"
	"io/fs"
	"os"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
)

// Keyring seals with its first key and opens with any of them.
type Keyring struct {
	ids  []string
	keys map[string][]byte
}

var _ sensitive.Sealer = (*Keyring)(nil)

// New returns a keyring over keys (each sensitive.KeyLen bytes), the
// first sealing.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("localkey: no key")
	}
	r := &Keyring{keys: map[string][]byte{}}
	for i, k := range keys {
		if len(k) != sensitive.KeyLen {
			return nil, fmt.Errorf("localkey: key %d has %d bytes, want %d", i+1, len(k), sensitive.KeyLen)
		}
		id := KeyID(k)
		r.ids = append(r.ids, id)
		r.keys[id] = k
	}
	return r, nil
}

// Random returns a keyring of one new random key: values it seals die
// with it (the engine's default when none is configured).
func Random() *Keyring {
	k := NewKey()
	r, _ := New(k)
	return r
}

// NewKey returns a random key.
func NewKey() []byte {
	k := make([]byte, sensitive.KeyLen)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// KeyID is the id of key: "l" and 12 hex digits of a hash of it.
func KeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("ordo-sealing-key-id\x00"), key...))
	return "l" + hex.EncodeToString(h[:6])
}

// Current is the id of the key that seals.
func (r *Keyring) Current() string { return r.ids[0] }

// Seal implements sensitive.Sealer.
func (r *Keyring) Seal(_ context.Context, clear []byte) (string, error) {
	id := r.ids[0]
	e, err := sensitive.SealWith(r.keys[id], id, nil, clear)
	if err != nil {
		return "", err
	}
	return e.String(), nil
}

// Open implements sensitive.Sealer.
func (r *Keyring) Open(_ context.Context, sealed string) ([]byte, error) {
	e, err := sensitive.ParseEnvelope(sealed)
	if err != nil {
		return nil, err
	}
	k, ok := r.keys[e.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: no key %q in the local keyring (it has %s): the key file was replaced or the line removed",
			sensitive.ErrKey, e.KeyID, strings.Join(r.ids, ", "))
	}
	return sensitive.OpenWith(k, e)
}

// Parse reads a key file's text: one key of 64 hex digits per line, the
// current one first; blank lines and lines starting with # are skipped.
func Parse(text string) (*Keyring, error) {
	var keys [][]byte
	n := 0
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := hex.DecodeString(line)
		if err != nil || len(k) != sensitive.KeyLen {
			return nil, fmt.Errorf("localkey: line %d: want %d hex digits", n, 2*sensitive.KeyLen)
		}
		keys = append(keys, k)
	}
	return New(keys...)
}

// LoadFile reads the keyring at path, creating it with one random key
// (mode 0600) when it does not exist. A file others may read or write is
// refused.
func LoadFile(path string) (*Keyring, error) {
	r, err := ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(path)
	}
	return r, err
}

// ReadFile is LoadFile for readers: a missing file is an error matching
// fs.ErrNotExist, and nothing is created.
func ReadFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sealing key file: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sealing key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sealing key file %s has mode %v: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	r, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("sealing key file %s: %w", path, err)
	}
	return r, nil
}

func create(path string) (*Keyring, error) {
	k := NewKey()
	exists, err := keyfile.Create(path, "ordo sealing keys (sensitive fields): the first seals, all open", k)
	if exists {
		return LoadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("sealing key file %s: %w", path, err)
	}
	return New(k)
}
