package localrun

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	cfs3 "github.com/awslabs/goformation/v7/cloudformation/s3"
)

// newS3 returns an S3 client for the emulator: buckets by path, since a
// local endpoint has no per-bucket host names.
func newS3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// bucketName is the bucket's BucketName, or a name derived from the stack
// and logical id as CloudFormation would (lower case: S3 refuses upper).
func (s *Stack) bucketName(id string, b *cfs3.Bucket) (string, error) {
	if b.BucketName != nil && *b.BucketName != "" {
		return s.pseudo().resolve(*b.BucketName)
	}
	return strings.ToLower(s.opts.StackName + "-" + id), nil
}

// createBucket creates the bucket; its settings (encryption, public access
// block, ownership) have no effect on the emulator and are not applied.
func (c *clients) createBucket(ctx context.Context, id, name string) (*Resource, error) {
	r := &Resource{LogicalID: id, Type: "AWS::S3::Bucket", Name: name, ARN: "arn:aws:s3:::" + name}
	_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var owned *s3types.BucketAlreadyOwnedByYou
	var exists *s3types.BucketAlreadyExists
	switch {
	case errors.As(err, &owned), errors.As(err, &exists):
		r.Existed = true
	case err != nil:
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return r, nil
}

// deleteBucket empties the bucket and deletes it.
func (c *clients) deleteBucket(ctx context.Context, name string) error {
	p := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key}); err != nil {
				return err
			}
		}
	}
	_, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	return err
}
