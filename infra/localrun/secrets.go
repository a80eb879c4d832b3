package localrun

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	cfsm "github.com/awslabs/goformation/v7/cloudformation/secretsmanager"
)

// secretTypeName is the CloudFormation type of a Secrets Manager secret.
const secretTypeName = "AWS::SecretsManager::Secret"

// createSecret creates a secret as CloudFormation would: its SecretString,
// or a generated random string (GenerateSecretString's length, letters and
// digits). An existing secret is kept, value and all, so a restarted stack
// keeps its keys.
func (c *clients) createSecret(ctx context.Context, id, name string, s *cfsm.Secret) (*Resource, error) {
	sm := secretsmanager.NewFromConfig(c.cfg)
	value := aws.ToString(s.SecretString)
	if value == "" {
		n := 32
		if g := s.GenerateSecretString; g != nil && g.PasswordLength != nil {
			n = *g.PasswordLength
		}
		value = rand.Text() + rand.Text() + rand.Text()
		for len(value) < n {
			value += rand.Text()
		}
		value = value[:n]
	}
	r := &Resource{LogicalID: id, Type: secretTypeName, Name: name}
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value),
		Description: s.Description})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		d, derr := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if derr != nil {
			return nil, fmt.Errorf("describe secret %s: %w", name, derr)
		}
		r.ARN, r.Existed = aws.ToString(d.ARN), true
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create secret %s: %w", name, err)
	}
	r.ARN = aws.ToString(out.ARN)
	return r, nil
}

func (c *clients) deleteSecret(ctx context.Context, r *Resource) error {
	_, err := secretsmanager.NewFromConfig(c.cfg).DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(r.ARN),
		ForceDeleteWithoutRecovery: aws.Bool(true)})
	return err
}
