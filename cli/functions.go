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

// PlatformFunctions are the platform stack's own functions: named
// "<stack>-<name>" like step functions, but never invokable as steps.
var PlatformFunctions = []string{"orchestrator", "effects", "api"}

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
	for _, p := range PlatformFunctions {
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

// closest returns up to three of names nearest to name (edit distance, a
// shared prefix counting as near), for "did you mean" hints.
func closest(name string, names []string) []string {
	type scored struct {
		n string
		d int
	}
	var s []scored
	for _, n := range names {
		d := editDistance(name, n)
		if strings.HasPrefix(n, name) || strings.HasPrefix(name, n) {
			d = min(d, 2)
		}
		if d <= max(3, len(name)/2) {
			s = append(s, scored{n, d})
		}
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].d < s[j].d })
	var out []string
	for i := 0; i < len(s) && i < 3; i++ {
		out = append(out, s[i].n)
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
