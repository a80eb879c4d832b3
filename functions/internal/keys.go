package internal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ordoflow/ordo/orchestrator/callback"
)

// SecretsAPI is the part of the Secrets Manager client the key loader uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ParametersAPI is the part of the SSM client the key loader uses.
type ParametersAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretKeys loads the callback keyring from the Secrets Manager secret id:
// its AWSCURRENT version signs; its AWSPREVIOUS version, when there is one,
// still verifies, so a rotation does not void the tokens in flight.
func SecretKeys(ctx context.Context, c SecretsAPI, id string) (*callback.Keyring, error) {
	cur, err := secretString(ctx, c, id, "AWSCURRENT")
	if err != nil {
		return nil, err
	}
	prev, err := secretString(ctx, c, id, "AWSPREVIOUS")
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		prev, err = "", nil // never rotated
	}
	if err != nil {
		return nil, err
	}
	r, err := callback.ParseKeyring(cur + "\n" + prev)
	if err != nil {
		return nil, fmt.Errorf("callback key secret %s: %w", id, err)
	}
	return r, nil
}

func secretString(ctx context.Context, c SecretsAPI, id, stage string) (string, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)})
	if err != nil {
		return "", fmt.Errorf("callback key secret %s (%s): %w", id, stage, err)
	}
	if out.SecretString != nil {
		return *out.SecretString, nil
	}
	return string(out.SecretBinary), nil
}

// ParameterKeys loads the callback keyring from the SSM parameter name (a
// SecureString, decrypted): one key per line, the current one first.
func ParameterKeys(ctx context.Context, c ParametersAPI, name string) (*callback.Keyring, error) {
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("callback key parameter %s: %w", name, err)
	}
	r, err := callback.ParseKeyring(aws.ToString(out.Parameter.Value))
	if err != nil {
		return nil, fmt.Errorf("callback key parameter %s: %w", name, err)
	}
	return r, nil
}

// Environment variables naming where the callback keys are.
const (
	EnvCallbackKeySecret    = "ORDO_CALLBACK_KEY_SECRET"
	EnvCallbackKeyParameter = "ORDO_CALLBACK_KEY_PARAMETER"
)

// CallbackKeys loads the deployment's callback keyring at cold start from
// the secret ORDO_CALLBACK_KEY_SECRET names, or else the SSM parameter
// ORDO_CALLBACK_KEY_PARAMETER names. Neither set is an error: Lambdas that
// sign and Lambdas that verify must share a key.
func CallbackKeys(ctx context.Context, cfg aws.Config, getenv func(string) string) (*callback.Keyring, error) {
	if id := getenv(EnvCallbackKeySecret); id != "" {
		return SecretKeys(ctx, secretsmanager.NewFromConfig(cfg), id)
	}
	if name := getenv(EnvCallbackKeyParameter); name != "" {
		return ParameterKeys(ctx, ssm.NewFromConfig(cfg), name)
	}
	return nil, fmt.Errorf("no callback key: set %s (Secrets Manager) or %s (SSM SecureString), as template.yaml does",
		EnvCallbackKeySecret, EnvCallbackKeyParameter)
}
