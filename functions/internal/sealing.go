package internal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
)

// EnvSealingKey names the KMS key (id, ARN or alias) sensitive values are
// sealed under; template.yaml sets it on the functions that seal (the
// orchestrator, the operator and admin APIs) and open (the orchestrator,
// the effects function).
const EnvSealingKey = "ORDO_SEALING_KEY"

// KMSAPI is the part of the KMS client the sealer uses.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// DataKeyPeriod is how long a KMS sealer seals with one data key before
// it asks KMS for another.
const DataKeyPeriod = time.Hour

// KMSSealer is the sensitive.Sealer of the AWS functions: AES-256-GCM
// under a data key from KMS GenerateDataKey, asked for once per container
// and DataKeyPeriod. Each envelope carries its data key wrapped under the
// KMS key, and names it by a hash of the wrapped key ("kms-…"); Open
// unwraps a data key with KMS Decrypt once per container and keeps it. A
// function allowed GenerateDataKey but not Decrypt seals and cannot open.
// Rotating the KMS key (or moving to another one) leaves every envelope
// openable: the wrapped key names its KMS key.
type KMSSealer struct {
	c     KMSAPI
	keyID string
	now   func() time.Time

	mu     sync.Mutex
	cur    *dataKey
	opened map[string][]byte
}

type dataKey struct {
	id      string
	plain   []byte
	wrapped []byte
	made    time.Time
}

var _ sensitive.Sealer = (*KMSSealer)(nil)

// NewKMSSealer returns a sealer over the KMS key keyID.
func NewKMSSealer(c KMSAPI, keyID string) *KMSSealer {
	return &KMSSealer{c: c, keyID: keyID, now: time.Now, opened: map[string][]byte{}}
}

// dataKeyID names a data key by its wrapped form.
func dataKeyID(wrapped []byte) string {
	h := sha256.Sum256(wrapped)
	return "kms-" + hex.EncodeToString(h[:8])
}

func (s *KMSSealer) current(ctx context.Context) (*dataKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.now().Sub(s.cur.made) < DataKeyPeriod {
		return s.cur, nil
	}
	out, err := s.c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(s.keyID), KeySpec: kmstypes.DataKeySpecAes256})
	if err != nil {
		return nil, fmt.Errorf("%w: KMS GenerateDataKey on %s: %v", sensitive.ErrKey, s.keyID, err)
	}
	if len(out.Plaintext) != sensitive.KeyLen || len(out.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("%w: KMS GenerateDataKey on %s: a data key of %d bytes", sensitive.ErrKey, s.keyID, len(out.Plaintext))
	}
	dk := &dataKey{id: dataKeyID(out.CiphertextBlob), plain: out.Plaintext, wrapped: out.CiphertextBlob, made: s.now()}
	s.cur, s.opened[dk.id] = dk, dk.plain
	return dk, nil
}

// Seal implements sensitive.Sealer.
func (s *KMSSealer) Seal(ctx context.Context, clear []byte) (string, error) {
	dk, err := s.current(ctx)
	if err != nil {
		return "", err
	}
	e, err := sensitive.SealWith(dk.plain, dk.id, dk.wrapped, clear)
	if err != nil {
		return "", err
	}
	return e.String(), nil
}

// Open implements sensitive.Sealer.
func (s *KMSSealer) Open(ctx context.Context, sealed string) ([]byte, error) {
	e, err := sensitive.ParseEnvelope(sealed)
	if err != nil {
		return nil, err
	}
	if len(e.Wrapped) == 0 {
		return nil, fmt.Errorf("%w: value sealed under key %q, a local key, not a KMS data key", sensitive.ErrKey, e.KeyID)
	}
	if dataKeyID(e.Wrapped) != e.KeyID {
		return nil, fmt.Errorf("%w: key id %q does not match its wrapped data key", sensitive.ErrMalformed, e.KeyID)
	}
	key, err := s.unwrap(ctx, e)
	if err != nil {
		return nil, err
	}
	return sensitive.OpenWith(key, e)
}

func (s *KMSSealer) unwrap(ctx context.Context, e sensitive.Envelope) ([]byte, error) {
	s.mu.Lock()
	key, ok := s.opened[e.KeyID]
	s.mu.Unlock()
	if ok {
		return key, nil
	}
	out, err := s.c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: e.Wrapped})
	if err != nil {
		return nil, fmt.Errorf("%w: KMS Decrypt of data key %s: %v", sensitive.ErrKey, e.KeyID, err)
	}
	if len(out.Plaintext) != sensitive.KeyLen {
		return nil, fmt.Errorf("%w: KMS Decrypt of data key %s: %d bytes", sensitive.ErrKey, e.KeyID, len(out.Plaintext))
	}
	s.mu.Lock()
	s.opened[e.KeyID] = out.Plaintext
	s.mu.Unlock()
	return out.Plaintext, nil
}

// Sealer returns the KMS sealer of the key EnvSealingKey names, or nil
// when it is unset (the function neither seals nor opens: a viewer API).
func Sealer(cfg aws.Config, getenv func(string) string) sensitive.Sealer {
	id := getenv(EnvSealingKey)
	if id == "" {
		return nil
	}
	return NewKMSSealer(kms.NewFromConfig(cfg), id)
}
