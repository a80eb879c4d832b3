package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// Read commands (runs, show, definitions list, graph) read a journal and
// never write to it: they register no definitions and create no file.
// They read, in this order of precedence:
//
//	--addr ADDR                 the API of a running `ordo dev` or of the deployed platform
//	--journal dynamodb://TABLE  a DynamoDB journal (AWS SDK default configuration)
//	--db FILE                   a SQLite journal that must exist
//	ORDO_TABLE                  a DynamoDB journal, when neither flag is given
//	ORDO_DB, ./ordo.db          the SQLite journal
//
// A DynamoDB journal's large commits are read from ORDO_PAYLOAD_BUCKET, the
// bucket the platform offloads them to.

// readStore opens the journal a read command reads.
func (g *Env) readStore(cmd *cobra.Command) (journal.Store, func(), error) {
	ctx := cmd.Context()
	src := g.journal
	if src == "" && !cmd.Flags().Changed("db") && os.Getenv("ORDO_TABLE") != "" {
		src = "dynamodb://" + os.Getenv("ORDO_TABLE")
	}
	if src == "" || strings.HasPrefix(src, "sqlite:") {
		path := strings.TrimPrefix(src, "sqlite:")
		if path == "" {
			path = g.db
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("no journal at %s (--db, ORDO_DB; a read command does not create one)", path)
		}
		s, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly())
		if err != nil {
			return nil, nil, fmt.Errorf("open journal %s: %w", path, err)
		}
		return s, func() { s.Close() }, nil
	}
	table, ok := strings.CutPrefix(src, "dynamodb://")
	if !ok || table == "" {
		return nil, nil, fmt.Errorf("--journal %q: want dynamodb://TABLE or sqlite:FILE", src)
	}
	s, err := openDynamo(ctx, table)
	if err != nil {
		return nil, nil, err
	}
	return s, func() {}, nil
}

// openDynamo opens the DynamoDB journal table with the AWS SDK's default
// configuration (AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local).
func openDynamo(ctx context.Context, table string) (*dynamojournal.Store, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal dynamodb://%s: %w", table, err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		// DynamoDB Local omits the x-amz-crc32 header.
		if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
			o.DisableValidateResponseChecksum = true
		}
	})
	var opts []dynamojournal.Option
	if bucket := os.Getenv("ORDO_PAYLOAD_BUCKET"); bucket != "" { // where large commits are offloaded
		opts = append(opts, dynamojournal.WithS3(s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
		}), bucket))
	}
	return dynamojournal.New(client, table, opts...), nil
}

// addrFlag adds --addr (env ORDO_ADDR) to a command.
func addrFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "addr", os.Getenv("ORDO_ADDR"),
		"read from a running `ordo dev` (host:port) or the platform's API URL (https://…, SigV4-signed); env ORDO_ADDR")
}
