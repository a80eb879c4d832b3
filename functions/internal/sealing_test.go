package internal

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
)

// countingKMS counts the calls the sealer makes.
type countingKMS struct {
	*kms.Client
	generate, decrypt atomic.Int32
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generate.Add(1)
	return c.Client.GenerateDataKey(ctx, in, opts...)
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypt.Add(1)
	return c.Client.Decrypt(ctx, in, opts...)
}

// kmsKey creates a KMS key on kumo and returns its id.
func kmsKey(t *testing.T, cfg aws.Config) (*kms.Client, string) {
	t.Helper()
	c := kms.NewFromConfig(cfg)
	out, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{Description: aws.String("ordo sealing test key")})
	if err != nil {
		t.Fatal(err)
	}
	return c, aws.ToString(out.KeyMetadata.KeyId)
}

func TestKMSSealerDataKeyPerContainer(t *testing.T) {
	cfg := kumoConfig(t)
	client, id := kmsKey(t, cfg)
	ctx := t.Context()
	sealerKMS := &countingKMS{Client: client}
	s := NewKMSSealer(sealerKMS, id)
	var sealed []string
	for _, v := range []string{`"4111111111111111"`, `"4000000000000002"`, `{"pin":"1234"}`} {
		e, err := s.Seal(ctx, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(e, "4111") || !strings.HasPrefix(e, "v1:kms-") {
			t.Fatalf("envelope %q", e)
		}
		sealed = append(sealed, e)
	}
	if n := sealerKMS.generate.Load(); n != 1 {
		t.Errorf("GenerateDataKey called %d times for 3 seals, want 1", n)
	}
	// Another container (a cold start) opens them with one Decrypt.
	openerKMS := &countingKMS{Client: client}
	o := NewKMSSealer(openerKMS, id)
	for i, e := range sealed {
		got, err := o.Open(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && string(got) != `"4111111111111111"` {
			t.Fatalf("Open = %s", got)
		}
	}
	if n := openerKMS.decrypt.Load(); n != 1 {
		t.Errorf("Decrypt called %d times for 3 values of one data key, want 1", n)
	}
	// A value sealed with a local key, or altered, is a key error, not garbage.
	local, _ := localkey.Random().Seal(ctx, []byte(`"x"`))
	if _, err := o.Open(ctx, local); !errors.Is(err, sensitive.ErrKey) || !strings.Contains(err.Error(), "local key") {
		t.Errorf("Open(local envelope) = %v, want ErrKey naming a local key", err)
	}
	env, _ := sensitive.ParseEnvelope(sealed[0])
	env.Wrapped[len(env.Wrapped)-1] ^= 1
	if _, err := NewKMSSealer(client, id).Open(ctx, env.String()); err == nil {
		t.Error("an envelope with an altered wrapped key opened")
	}
}
