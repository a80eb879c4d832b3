package internal

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ordoflow/ordo/orchestrator/callback"
)

// kumoConfig returns an AWS config for the local stack's kumo, skipping
// (or failing with ORDO_REQUIRE_STACK=1) when it does not answer.
func kumoConfig(t *testing.T) aws.Config {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	ok := endpoint != ""
	if ok {
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get(endpoint)
		ok = err == nil
		if ok {
			resp.Body.Close()
		}
	}
	if !ok {
		msg := "kumo is not reachable at AWS_ENDPOINT_URL=" + endpoint + "; run infra/start.sh && . infra/env.sh"
		if os.Getenv("ORDO_REQUIRE_STACK") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCallbackKeysFromSecretsManagerWithRotation(t *testing.T) {
	cfg := kumoConfig(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(cfg)
	name := "ordo-test-callback-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	first := "a-generated-secret-string-of-at-least-32-bytes-1"
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	env := map[string]string{EnvCallbackKeySecret: name}
	before, err := CallbackKeys(ctx, cfg, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	claims := callback.Claims{Run: "order/o-1", Step: "approve", Attempt: 1}
	old := before.Sign(claims)
	// Rotate: a new AWSCURRENT; the old version becomes AWSPREVIOUS.
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
		SecretString: aws.String("a-generated-secret-string-of-at-least-32-bytes-2")}); err != nil {
		t.Fatal(err)
	}
	after, err := CallbackKeys(ctx, cfg, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Verify(old); err != nil {
		t.Fatalf("a token signed before the rotation: %v", err)
	}
	if _, err := before.Verify(after.Sign(claims)); !errors.Is(err, callback.ErrForged) {
		t.Fatalf("the new key signed with the old one: %v", err)
	}
}

func TestCallbackKeysFromSSM(t *testing.T) {
	cfg := kumoConfig(t)
	ctx := context.Background()
	name := "/ordo-test/callback-key-" + time.Now().Format("150405.000000000")
	c := ssm.NewFromConfig(cfg)
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Type: ssmtypes.ParameterTypeSecureString,
		Value: aws.String(strings.Repeat("ab", 32))}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(name)}) })
	env := map[string]string{EnvCallbackKeyParameter: name}
	r, err := CallbackKeys(ctx, cfg, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(r.Sign(callback.Claims{Run: "r/1", Step: "s", Attempt: 1})); err != nil {
		t.Fatal(err)
	}
}

func TestCallbackKeysRequireASource(t *testing.T) {
	_, err := CallbackKeys(context.Background(), aws.Config{}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), EnvCallbackKeySecret) {
		t.Fatalf("CallbackKeys without env = %v", err)
	}
}
