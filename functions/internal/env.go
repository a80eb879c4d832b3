package internal

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordoflow/ordo/observe"
)

// RequireEnv reads the named environment variables and fails naming every
// one that is missing.
func RequireEnv(names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		v, ok := os.LookupEnv(n)
		if !ok {
			missing = append(missing, n)
		}
		out[n] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing environment variables (declared in template.yaml): %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// LogLevel reads ORDO_LOG_LEVEL (debug, info, warn, error; default info).
func LogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("ORDO_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// DynamoOptions adjusts the DynamoDB client for local emulators: DynamoDB
// Local omits the x-amz-crc32 header, so response checksum validation is
// off when a custom endpoint is configured.
func DynamoOptions(o *dynamodb.Options) {
	if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
		o.DisableValidateResponseChecksum = true
	}
}

// JSONLogger returns a slog JSON logger on stdout (CloudWatch Logs) at
// level (see LogLevel) and makes it the default, so library code logging
// through slog.Default joins the same stream.
func JSONLogger(level slog.Level) *slog.Logger {
	log := slog.New(observe.LogHandler(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})))
	slog.SetDefault(log)
	return log
}
