package cli

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/stephttp"
)

// platformFunctions are the platform stack's own functions: named
// "<stack>-<name>" like step functions, but never invokable as steps.
var platformFunctions = []string{"orchestrator", "effects", "api", "repair"}

// function is one step function a deployment can invoke.
type function struct{ Name, Where string }

func functionsCmd(g *Env) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "functions",
		Short: "List the step functions this deployment can invoke (Go steps, HTTP steps, and with --lambda the Lambdas on AWS)",
		Long: `functions lists the step functions definitions may name: the Go steps
compiled into this CLI, the steps served over HTTP (--steps, ORDO_STEP_URLS),
and with --lambda PREFIX the Lambda functions named PREFIX<function> in the
account and region of the AWS SDK's default configuration (what the platform
orchestrator with ORDO_RESOURCE_PREFIX=PREFIX may invoke).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fns, err := g.functions()
			if err != nil {
				return err
			}
			if prefix != "" {
				l, err := lambdaFunctions(cmd.Context(), prefix)
				if err != nil {
					return err
				}
				fns = append(fns, l...)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FUNCTION\tWHERE")
			for _, f := range fns {
				fmt.Fprintf(tw, "%s\t%s\n", f.Name, f.Where)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&prefix, "lambda", "", "also list the Lambda functions named PREFIX<function> (e.g. ordo-)")
	return cmd
}

// functions lists the Go and HTTP steps, sorted by name.
func (g *Env) functions() ([]function, error) {
	reg, err := g.Registry()
	if err != nil {
		return nil, err
	}
	var out []function
	for _, name := range reg.Names() {
		h, _ := reg.Lookup(name)
		where := "go (in-process)"
		if c, ok := h.(*stephttp.Client); ok {
			where = "http " + c.URL()
		}
		out = append(out, function{name, where})
	}
	return out, nil
}

// lambdaFunctions lists the Lambda functions named prefix+name, without
// the platform's own.
func lambdaFunctions(ctx context.Context, prefix string) ([]function, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	platform := map[string]bool{}
	for _, p := range platformFunctions {
		platform[prefix+p] = true
	}
	var out []function
	pages := lambda.NewListFunctionsPaginator(lambda.NewFromConfig(cfg), &lambda.ListFunctionsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list Lambda functions: %w", err)
		}
		for _, f := range page.Functions {
			name := aws.ToString(f.FunctionName)
			if strings.HasPrefix(name, prefix) && !platform[name] {
				out = append(out, function{strings.TrimPrefix(name, prefix), "lambda " + aws.ToString(f.FunctionArn)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
