package localrun

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	cfkms "github.com/awslabs/goformation/v7/cloudformation/kms"
)

// kmsAliasTypeName is the CloudFormation type of a KMS alias.
const kmsAliasTypeName = "AWS::KMS::Alias"

// createKMSAlias makes the alias name point at a KMS key as CloudFormation
// would (its TargetKeyId a key of the template): an alias that exists is
// kept with its key, so a restarted stack still opens what it sealed; else
// a new symmetric key is created for it. The key's !Ref and !GetAtt Arn
// resolve to it too.
func (c *clients) createKMSAlias(ctx context.Context, id, name string, a *cfkms.Alias) (*Resource, []*Resource, error) {
	k := kms.NewFromConfig(c.cfg)
	r := &Resource{LogicalID: id, Type: kmsAliasTypeName, Name: name}
	d, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(name)})
	var nf *kmstypes.NotFoundException
	switch {
	case err == nil:
		r.Existed = true
	case errors.As(err, &nf):
		out, cerr := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("ordo local stack: " + id)})
		if cerr != nil {
			return nil, nil, fmt.Errorf("create KMS key for %s: %w", name, cerr)
		}
		if _, cerr := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: out.KeyMetadata.KeyId}); cerr != nil {
			return nil, nil, fmt.Errorf("create KMS alias %s: %w", name, cerr)
		}
		d = &kms.DescribeKeyOutput{KeyMetadata: out.KeyMetadata}
	default:
		return nil, nil, fmt.Errorf("describe KMS alias %s: %w", name, err)
	}
	r.ARN = aws.ToString(d.KeyMetadata.Arn)
	var extra []*Resource
	// TargetKeyId is "{{ordo:Ref:<key>}}" when it names a key of the template.
	if key, ok := strings.CutPrefix(a.TargetKeyId, "{{ordo:Ref:"); ok {
		key = strings.TrimSuffix(key, "}}")
		extra = append(extra, &Resource{LogicalID: key, Type: "AWS::KMS::Key", Name: aws.ToString(d.KeyMetadata.KeyId),
			ARN: r.ARN, Existed: r.Existed})
	}
	return r, extra, nil
}
