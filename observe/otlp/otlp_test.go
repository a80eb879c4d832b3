package otlp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/observe/otlp"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestNewWithoutAnEndpointExportsNothing(t *testing.T) {
	for _, e := range []func(string) string{
		env(),
		env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "OTEL_SDK_DISABLED", "true"),
		env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces", "OTEL_TRACES_EXPORTER", "none"),
	} {
		tp, err := otlp.New(context.Background(), e)
		if tp != nil || err != nil {
			t.Errorf("New: %v, %v; want no provider and no error", tp, err)
		}
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		env  func(string) string
		opts []otlp.Option
		want string
	}{
		{env("OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4318"), nil, `OTLP endpoint "127.0.0.1:4318": want an http:// or https:// URL`},
		{env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://x"), nil, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT "grpc://x"`},
		{env(), []otlp.Option{otlp.WithEndpoint("localhost")}, `OTLP endpoint "localhost"`},
		{env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER", "sometimes"), nil, `OTEL_TRACES_SAMPLER "sometimes"`},
		{env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "2"), nil, `OTEL_TRACES_SAMPLER_ARG "2"`},
	} {
		tp, err := otlp.New(context.Background(), tc.env, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, %v; want an error containing %q", tp, err, tc.want)
		}
	}
}

func TestSamplerNames(t *testing.T) {
	for name, want := range map[string]string{
		"":                         "ParentBased{root:AlwaysOnSampler",
		"always_on":                "AlwaysOnSampler",
		"always_off":               "AlwaysOffSampler",
		"traceidratio":             "TraceIDRatioBased{0.25}",
		"parentbased_always_off":   "ParentBased{root:AlwaysOffSampler",
		"parentbased_traceidratio": "ParentBased{root:TraceIDRatioBased{0.25}",
	} {
		s, err := otlp.Sampler(env("OTEL_TRACES_SAMPLER", name, "OTEL_TRACES_SAMPLER_ARG", "0.25"))
		if err != nil || !strings.HasPrefix(s.Description(), want) {
			t.Errorf("OTEL_TRACES_SAMPLER=%q: %v, %v; want %s", name, s, err, want)
		}
	}
}
