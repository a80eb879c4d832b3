package main

import (
	"context"
	"encoding/json"

	"github.com/ordoflow/ordo/cli"
	"github.com/ordoflow/ordo/workflows"
)

// sampler gives the demo's i-th run: a workflow and its input.
type sampler func(i int) (workflow string, input json.RawMessage)

func sampleOrder(i int) (string, json.RawMessage) { return "order", workflows.SampleOrder(i) }

// demoSampler is the demo's traffic: orders only, or the mixed OMS traffic.
func demoSampler(mix bool) sampler {
	if mix {
		return workflows.SampleTraffic
	}
	return sampleOrder
}

// runDemo places orders sample orders.
func runDemo(ctx context.Context, g *cli.Env, orders, concurrency int) (demoResult, error) {
	return runDemoWith(ctx, g, orders, concurrency, sampleOrder)
}
