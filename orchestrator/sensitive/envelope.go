package sensitive

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// Version is the envelope format this package writes.
const Version = "v1"

// KeyLen is the length of a data key: AES-256.
const KeyLen = 32

// Envelope is the parsed string of an envelope.
type Envelope struct {
	// KeyID names the data key (letters, digits, '-', '_' and '.').
	KeyID string
	// Body is the nonce followed by the AES-256-GCM ciphertext and tag.
	Body []byte
	// Wrapped is the data key encrypted under a master key (KMS), when
	// the envelope carries it; nil for local keys.
	Wrapped []byte
}

var b64 = base64.RawURLEncoding

// String formats e.
func (e Envelope) String() string {
	s := Version + ":" + e.KeyID + ":" + b64.EncodeToString(e.Body)
	if len(e.Wrapped) > 0 {
		s += ":" + b64.EncodeToString(e.Wrapped)
	}
	return s
}

// ParseEnvelope reads an envelope's string.
func ParseEnvelope(s string) (Envelope, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 || parts[0] != Version {
		return Envelope{}, fmt.Errorf("%w: want %s:<key id>:<ciphertext>[:<wrapped key>]", ErrMalformed, Version)
	}
	if !validKeyID(parts[1]) {
		return Envelope{}, fmt.Errorf("%w: key id %q", ErrMalformed, clip(parts[1]))
	}
	e := Envelope{KeyID: parts[1]}
	var err error
	if e.Body, err = b64.DecodeString(parts[2]); err != nil {
		return Envelope{}, fmt.Errorf("%w: ciphertext: %v", ErrMalformed, err)
	}
	if len(parts) == 4 {
		if e.Wrapped, err = b64.DecodeString(parts[3]); err != nil || len(e.Wrapped) == 0 {
			return Envelope{}, fmt.Errorf("%w: wrapped key: %v", ErrMalformed, err)
		}
	}
	return e, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// aad binds a ciphertext to its key id, so an envelope's id cannot be
// swapped for another's.
func aad(keyID string) []byte { return []byte("ordo-sealed-" + Version + "\x00" + keyID) }

// SealWith encrypts clear under the data key (AES-256-GCM, a random
// nonce) into an envelope named keyID; wrapped, if any, rides along.
func SealWith(key []byte, keyID string, wrapped, clear []byte) (Envelope, error) {
	if !validKeyID(keyID) {
		return Envelope{}, fmt.Errorf("sensitive: key id %q: letters, digits, '-', '_' and '.' only", clip(keyID))
	}
	gcm, err := newGCM(key)
	if err != nil {
		return Envelope{}, err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(clear)+gcm.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return Envelope{}, fmt.Errorf("sensitive: nonce: %w", err)
	}
	return Envelope{KeyID: keyID, Body: gcm.Seal(nonce, nonce, clear, aad(keyID)), Wrapped: wrapped}, nil
}

// OpenWith decrypts e with the data key; a wrong key or a tampered
// envelope is ErrKey.
func OpenWith(key []byte, e Envelope) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(e.Body) < gcm.NonceSize()+gcm.Overhead() {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes is too short", ErrMalformed, len(e.Body))
	}
	n := gcm.NonceSize()
	clear, err := gcm.Open(nil, e.Body[:n], e.Body[n:], aad(e.KeyID))
	if err != nil {
		return nil, fmt.Errorf("%w: value sealed under key %q does not authenticate (wrong key or altered value)", ErrKey, e.KeyID)
	}
	return clear, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeyLen {
		return nil, fmt.Errorf("sensitive: data key of %d bytes, want %d", len(key), KeyLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
