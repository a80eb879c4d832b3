// Package otlp sends traces to an OpenTelemetry collector over OTLP/HTTP
// (protobuf), configured the way every OpenTelemetry SDK is: by the
// standard environment variables.
//
//	OTEL_EXPORTER_OTLP_ENDPOINT         base URL; /v1/traces is added (e.g. http://localhost:4318)
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  the traces URL, used as it is (wins over the base)
//	OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION (and their TRACES_ forms)
//	OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG  which spans are kept (default parentbased_always_on)
//	OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES   the resource spans are reported under
//	OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none  no export
//
// New returns nil when none of the endpoint variables (nor WithEndpoint) is
// set, so a process exports traces only when it is told where to.
package otlp

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Option changes how New configures the provider.
type Option func(*config)

type config struct {
	endpoint string
	service  string
	sampler  func(sdktrace.Sampler) sdktrace.Sampler
	ids      sdktrace.IDGenerator
	also     []sdktrace.SpanExporter
}

// WithEndpoint sets the collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT
// does: /v1/traces is added unless the URL already ends with it), over
// the environment. Empty: the environment decides.
func WithEndpoint(url string) Option { return func(c *config) { c.endpoint = url } }

// WithService names the service spans are reported under when
// OTEL_SERVICE_NAME does not (default: AWS_LAMBDA_FUNCTION_NAME, else
// "ordo").
func WithService(name string) Option { return func(c *config) { c.service = name } }

// WithSampler wraps the sampler the environment names (e.g. to decide a
// run's spans as one, see observe.RunSampler).
func WithSampler(wrap func(sdktrace.Sampler) sdktrace.Sampler) Option {
	return func(c *config) { c.sampler = wrap }
}

// WithIDGenerator makes the provider's span ids with g (e.g.
// observe.RunIDs, so that a run's root span has the ids its other spans
// name as parent).
func WithIDGenerator(g sdktrace.IDGenerator) Option { return func(c *config) { c.ids = g } }

// WithExporter sends the spans to exp as well (e.g. a file); with it New
// returns a provider even when no OTLP endpoint is configured.
func WithExporter(exp sdktrace.SpanExporter) Option {
	return func(c *config) { c.also = append(c.also, exp) }
}

// Configured reports whether getenv (os.Getenv) asks for OTLP traces.
func Configured(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// New returns a tracer provider that batches spans to the OTLP/HTTP
// endpoint WithEndpoint or the environment names (and to WithExporter's),
// or nil and no error when there is nowhere to send them. Call ForceFlush at the end of a Lambda invocation
// (the container may be frozen after it) and Shutdown before exiting.
func New(ctx context.Context, getenv func(string) string, opts ...Option) (*sdktrace.TracerProvider, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	popts := make([]sdktrace.TracerProviderOption, 0, len(c.also)+3)
	for _, exp := range c.also {
		popts = append(popts, sdktrace.WithBatcher(exp))
	}
	if c.endpoint != "" || Configured(getenv) {
		exp, err := exporter(ctx, c.endpoint, getenv)
		if err != nil {
			return nil, err
		}
		popts = append(popts, sdktrace.WithBatcher(exp))
	}
	if len(popts) == 0 {
		return nil, nil
	}
	sampler, err := Sampler(getenv)
	if err != nil {
		return nil, err
	}
	if c.sampler != nil {
		sampler = c.sampler(sampler)
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", serviceName(c.service, getenv))), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("otlp resource: %w", err)
	}
	popts = append(popts, sdktrace.WithSampler(sampler), sdktrace.WithResource(res))
	if c.ids != nil {
		popts = append(popts, sdktrace.WithIDGenerator(c.ids))
	}
	return sdktrace.NewTracerProvider(popts...), nil
}

// exporter is the OTLP/HTTP exporter to endpoint (a base URL), else to
// the traces URL getenv names (the exporter reads the other OTEL_EXPORTER_
// variables itself).
func exporter(ctx context.Context, endpoint string, getenv func(string) string) (sdktrace.SpanExporter, error) {
	u, err := "", error(nil)
	switch {
	case endpoint != "":
		u, err = traceURL(endpoint)
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "":
		u = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			err = fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT %q: want an http:// or https:// URL", u)
		}
	default:
		u, err = traceURL(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	}
	if err != nil {
		return nil, err
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u)}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	return exp, nil
}

func serviceName(name string, getenv func(string) string) string {
	switch {
	case getenv("OTEL_SERVICE_NAME") != "":
		return getenv("OTEL_SERVICE_NAME")
	case name != "":
		return name
	case getenv("AWS_LAMBDA_FUNCTION_NAME") != "":
		return getenv("AWS_LAMBDA_FUNCTION_NAME")
	}
	return "ordo"
}

// traceURL is base's traces URL: http(s) only, /v1/traces added to a base.
func traceURL(base string) (string, error) {
	s := strings.TrimRight(strings.TrimSpace(base), "/")
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return "", fmt.Errorf("OTLP endpoint %q: want an http:// or https:// URL (e.g. http://localhost:4318)", base)
	}
	if !strings.HasSuffix(s, "/v1/traces") {
		s += "/v1/traces"
	}
	return s, nil
}

// Sampler returns the sampler OTEL_TRACES_SAMPLER names (with
// OTEL_TRACES_SAMPLER_ARG for the ratio ones; default 1), or
// parentbased_always_on when it is unset. An unknown name or a ratio
// outside [0, 1] is an error naming the variable.
func Sampler(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")))
	ratio := 1.0
	if arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")); arg != "" && strings.HasSuffix(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q: want a ratio between 0 and 1", arg)
		}
		ratio = r
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER %q: want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", name)
}
