package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/cli"
	"github.com/ordoflow/ordo/workflows"
)

// TestDemo runs the README's first command in small and checks its summary:
// every order settles, exactly the declined-card orders land in review, and
// none fail.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 80
	var g *cli.Env
	cli.Command(cli.App{Register: workflows.Register, Definitions: workflows.Definitions,
		Commands: []func(*cli.Env) *cobra.Command{func(e *cli.Env) *cobra.Command { g = e; return demoCmd(e) }}})
	g.SetDB(filepath.Join(t.TempDir(), "demo.db"))
	res, err := runDemo(ctx, g, n, 16)
	if err != nil {
		t.Fatal(err)
	}
	wantReview := 0
	for i := range n {
		if i%workflows.SampleDeclinedEvery == workflows.SampleDeclinedEvery-1 {
			wantReview++
		}
	}
	if res.Orders != n || res.Completed != n-wantReview || res.Review != wantReview || res.Failed != 0 || res.Other != 0 {
		t.Fatalf("demo summary = %+v, want %d completed, %d in review, 0 failed", res, n-wantReview, wantReview)
	}
	if res.P50 <= 0 || res.P99 < res.P50 {
		t.Fatalf("latencies p50=%s p99=%s", res.P50, res.P99)
	}
}
