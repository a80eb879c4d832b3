package dynamojournal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3API is the part of the S3 client a Store uses to offload large commits.
// *s3.Client implements it.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// DefaultOffloadAbove is the item size above which a Store with a bucket
// offloads a commit's events to S3. An item of n KB costs n write units on
// every write and n/4 read units on every Load; one S3 PUT costs about as
// much as 4 write units, so at 64 KB offloading is an order of magnitude
// cheaper, and it keeps Loads of runs with large payloads within a few
// DynamoDB pages.
const DefaultOffloadAbove = 64 << 10

// MaxCommitSize is the default limit on a commit's encoded events, with or
// without a bucket: the embedded journal's limit, so that a workflow that
// runs embedded runs on AWS.
const MaxCommitSize = 16 << 20

// blobPrefix is where offloaded commits live in the bucket; the functions'
// IAM policies grant access to it only.
const blobPrefix = "commits/"

// WithS3 makes the Store offload the events of commits whose item would be
// larger than the offload threshold (WithOffloadAbove) to bucket: the
// (compressed) events go to an object named by their SHA-256
// ("commits/<hex>"), written before the commit item, which holds the key in
// place of the events. Load and Since read such commits back transparently
// and check their hash. Without a bucket, a commit whose item would exceed
// the item limit fails with journal.ErrTooLarge.
//
// Objects are content-addressed, so a retried or repeated write is
// harmless; an object whose commit lost its race (journal.ErrConflict) is
// left behind unreferenced. Nothing deletes objects: give the bucket a
// lifecycle rule no shorter than the journal's own retention.
func WithS3(client S3API, bucket string) Option {
	return func(o *options) { o.s3, o.bucket = client, bucket }
}

// WithOffloadAbove sets the item size above which a Store with a bucket
// offloads a commit (default DefaultOffloadAbove; at most the item limit).
func WithOffloadAbove(n int) Option { return func(o *options) { o.offloadAbove = n } }

// WithMaxCommitSize sets the limit on a commit's encoded events, in bytes,
// past which Append fails with journal.ErrTooLarge even with a bucket
// (default MaxCommitSize).
func WithMaxCommitSize(n int) Option { return func(o *options) { o.maxCommitSize = n } }

// blob is a commit body to write to S3 before its item.
type blob struct {
	key  string
	body []byte
}

// blobKey names body by its content.
func blobKey(body []byte) string {
	sum := sha256.Sum256(body)
	return blobPrefix + hex.EncodeToString(sum[:])
}

// offload moves item's events to a blob when the item is over the offload
// threshold and the Store has a bucket.
func (s *Store) offload(item map[string]ddbtypes.AttributeValue) *blob {
	if s.opts.s3 == nil || itemSize(item) <= min(s.opts.offloadAbove, s.opts.maxItemSize) {
		return nil
	}
	b := &blob{body: item[attrEvents].(*ddbtypes.AttributeValueMemberB).Value}
	b.key = blobKey(b.body)
	delete(item, attrEvents)
	item[attrBlob] = &ddbtypes.AttributeValueMemberS{Value: b.key}
	return b
}

// putBlob writes b to the bucket.
func (s *Store) putBlob(ctx context.Context, b *blob) error {
	_, err := s.opts.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.opts.bucket,
		Key:           &b.key,
		Body:          bytes.NewReader(b.body),
		ContentLength: aws.Int64(int64(len(b.body))),
		ContentType:   aws.String("application/octet-stream"),
	})
	if err != nil {
		return fmt.Errorf("offload %d bytes to s3://%s/%s: %w", len(b.body), s.opts.bucket, b.key, err)
	}
	return nil
}

// getBlob reads the body of an offloaded commit and checks it against its
// content address.
func (s *Store) getBlob(ctx context.Context, key string) ([]byte, error) {
	if s.opts.s3 == nil {
		return nil, fmt.Errorf("events offloaded to S3 (%s), but the Store has no bucket (WithS3)", key)
	}
	out, err := s.opts.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.opts.bucket, Key: &key})
	var missing *types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("events offloaded to s3://%s/%s: the object is missing", s.opts.bucket, key)
	}
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.opts.bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.opts.bucket, key, err)
	}
	if !strings.HasPrefix(key, blobPrefix) || blobKey(body) != key {
		return nil, fmt.Errorf("s3://%s/%s: content does not match its key", s.opts.bucket, key)
	}
	return body, nil
}
