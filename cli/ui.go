package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/visualizer"
)

func uiCmd(g *Env) *cobra.Command {
	var addr, target, region, traces, otlpURL, token string
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web UI over the journal (--db), a running `ordo dev` or a deployed API (--api)",
		Long: `Serve the visualizer on a loopback address.

Without --api it opens the journal (--db) and runs the embedded runtime, so
resubmitted runs are driven here. With --api http://127.0.0.1:8080 it talks
to a running ` + "`ordo dev`" + `; with --api https://<id>.lambda-url.<region>.on.aws
it talks to a deployed API and signs every call with your AWS credentials
(SigV4, the SDK's default chain), so the Function URL stays closed to
browsers.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			metrics := g.prometheus()
			stopTraces, err := g.traceTo(ctx, traces, otlpURL)
			if err != nil {
				return err
			}
			defer stopTraces()
			var apiHandler http.Handler
			if target == "" {
				a, err := g.Open(ctx)
				if err != nil {
					return fmt.Errorf("%w (is `ordo dev` running on it? then use --api http://its-address)", err)
				}
				defer a.Close()
				runsGauge(metrics, a.Store)
				if _, err := a.Resume(ctx); err != nil {
					return err
				}
				// The journal's user operates through the UI, as the CLI does.
				apiHandler = api.New(a.Engine, a.Runtime, a.Runtime, api.WithFunctions(a.Registry.Has),
					api.WithAuthenticator(api.Fixed(api.Principal{Name: "ui:" + os.Getenv("USER"), Role: api.Admin})))
			} else {
				if token == "" && strings.HasPrefix(target, "http://") {
					// `ordo dev` wants its operator token, beside its journal.
					if token, err = bearer(g.db, api.Operator); err != nil {
						return err
					}
				}
				h, err := remoteAPI(ctx, target, region, token)
				if err != nil {
					return err
				}
				apiHandler = h
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: visualizer.Guard(withMetrics(metrics, visualizer.Mount(apiHandler))), ReadHeaderTimeout: 10 * time.Second}
			from := "journal " + g.db
			if target != "" {
				from = "API " + target
			}
			fmt.Printf("ordo ui: %s, open http://%s/\n", from, ln.Addr())
			return serveUntil(ctx, srv, ln)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8081", "listen address (loopback)")
	cmd.Flags().StringVar(&target, "api", os.Getenv("ORDO_API"), "an API to read and operate through (http://… for `ordo dev`, https://… for a deployed API); default: the journal --db")
	cmd.Flags().StringVar(&traces, "traces", "", "without --api: write an OpenTelemetry trace per run to this file, as JSON lines")
	cmd.Flags().StringVar(&otlpURL, "otlp", "", "without --api: send each run's trace to an OpenTelemetry collector over OTLP/HTTP at this URL (e.g. http://localhost:4318); default: OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	cmd.Flags().StringVar(&token, "token", os.Getenv("ORDO_TOKEN"), "with an http --api: a bearer token to send with every call; env ORDO_TOKEN")
	cmd.Flags().StringVar(&region, "region", "", "with an https --api: the AWS region to sign for (default: from the Function URL, else the SDK's)")
	return cmd
}

// remoteAPI proxies to a running `ordo dev` (http) or signs with SigV4 for
// a deployed API (https).
func remoteAPI(ctx context.Context, target, region, token string) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--api %q: want http://host:port or https://host", target)
	}
	if u.Scheme == "http" {
		if token != "" {
			return visualizer.Proxy(u, visualizer.Bearer{Token: token}), nil
		}
		return visualizer.Proxy(u, nil), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if region == "" {
		region = visualizer.FunctionURLRegion(u)
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return nil, fmt.Errorf("--api %s: no region (pass --region or set AWS_REGION)", target)
	}
	return visualizer.Proxy(u, visualizer.SigV4{Credentials: cfg.Credentials, Region: region}), nil
}
