package internal

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// JournalOptions returns the journal's options for a deployment whose
// payload bucket is bucket (ORDO_PAYLOAD_BUCKET): commits too large for a
// DynamoDB item are offloaded there. With no bucket, such commits fail
// their step terminally instead.
func JournalOptions(cfg aws.Config, bucket string) []dynamojournal.Option {
	if bucket == "" {
		return nil
	}
	return []dynamojournal.Option{dynamojournal.WithS3(s3.NewFromConfig(cfg, S3Options), bucket)}
}

// S3Options adjusts the S3 client for local emulators: with a custom
// endpoint, buckets are addressed by path (a local endpoint has no
// per-bucket host names) and responses without checksums are not logged.
func S3Options(o *s3.Options) {
	if os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
		o.UsePathStyle = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	}
}
