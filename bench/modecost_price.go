package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// invocationOverhead is the orchestrator's own compute per invocation
// (decoding the batch, deciding, encoding), billed on top of its calls.
const invocationOverhead = 2 * time.Millisecond

// orchestratorGB is the orchestrator Lambda's memory (template.yaml).
const orchestratorGB = 0.5

// ModeCostPrice is one configuration's orchestration cost per million step
// transitions, item by item (USD).
type ModeCostPrice struct {
	Row ModeCostRow
	// Billed is the orchestrator's modelled billed time per transition
	// with the invocations' records sharing it (Records per invocation)
	// and with one record per invocation (low load).
	Billed, BilledAlone                    time.Duration
	Requests, GBs, GBsAlone, SQS, DynamoDB float64 // USD per million transitions
}

// Total is the cost per million transitions at the measured sharing.
func (p ModeCostPrice) Total() float64 { return p.Requests + p.GBs + p.SQS + p.DynamoDB }

// TotalAlone is the cost per million transitions with one record per
// orchestrator invocation.
func (p ModeCostPrice) TotalAlone() float64 { return p.Requests + p.GBsAlone + p.SQS + p.DynamoDB }

// Price prices a measured configuration with the latency model and list
// prices. The orchestrator is billed, per transition, for its calls (at
// RealAWS; an Event invoke at Lambda.Invoke's round trip, since Lambda
// answers once it has queued the event), its overhead per invocation and,
// with synchronous invokes,
// the step's whole duration; the records of one invocation run at once and
// share that time. The step's own Lambda bill is the same in both modes
// and not included. SQS requests: the orchestrator's sends, the
// destination records, and the event source's receive and delete (one
// each per invocation; empty long polls are a fixed cost per queue, not
// per transition). DynamoDB: the write and read units the calls consumed
// as DynamoDB reported them, the indexes' included (a head update that
// moves the run between byStatus partitions is 3 write units, not 1).
func (r ModeCostRow) Price(p Prices) ModeCostPrice {
	n := float64(r.Transitions)
	var calls time.Duration
	var sqsReq float64
	for k, v := range r.Calls {
		if strings.HasPrefix(k, "Secrets Manager.") {
			continue // a cold start's (the callback key), not a transition's
		}
		lat, ok := RealAWS[k]
		if !ok {
			lat = defaultCallSeconds
		}
		calls += time.Duration(float64(v) * lat * float64(time.Second))
		if strings.HasPrefix(k, "SQS.") {
			sqsReq += float64(v)
		}
	}
	own := calls + time.Duration(r.Invocations)*invocationOverhead
	if r.Mode == workflow.InvokeSync {
		own += time.Duration(r.Calls["Lambda.Invoke"]) * r.Step
	}
	share := 1.0
	if r.Invocations > 0 && r.Records > r.Invocations {
		share = float64(r.Records) / float64(r.Invocations)
	}
	sqsReq += float64(r.Results) + 2*float64(r.Invocations)
	pr := p.Prices
	gbs := pr["lambda_gb_second_arm64"].Each() * orchestratorGB
	out := ModeCostPrice{Row: r,
		BilledAlone: own / time.Duration(max(r.Transitions, 1)),
		Requests:    1e6 * float64(r.Invocations) / n * pr["lambda_request"].Each(),
		SQS:         1e6 * sqsReq / n * pr["sqs_request"].Each(),
		DynamoDB:    1e6 * (r.WriteUnits*pr["dynamodb_write_request_unit"].Each() + r.ReadUnits*pr["dynamodb_read_request_unit"].Each()) / n,
	}
	out.Billed = time.Duration(float64(out.BilledAlone) / share)
	out.GBs = 1e6 * out.Billed.Seconds() * gbs
	out.GBsAlone = 1e6 * out.BilledAlone.Seconds() * gbs
	return out
}

// WriteModeCost prints the measured counts per transition and the priced
// table.
func WriteModeCost(w io.Writer, p Prices, rows []ModeCostRow) {
	keys := map[string]bool{}
	for _, r := range rows {
		for k := range r.Calls {
			keys[k] = true
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	})
	fmt.Fprintf(w, "per step transition (measured on the local stack):\n%-6s %-7s %6s %7s %7s", "mode", "step", "trans", "invocs", "rec/inv")
	for _, k := range names {
		fmt.Fprintf(w, " %s", k)
	}
	fmt.Fprintf(w, "  WU/tr  RU/tr results elapsed\n")
	for _, r := range rows {
		n := float64(r.Transitions)
		rec := 0.0
		if r.Invocations > 0 {
			rec = float64(r.Records) / float64(r.Invocations)
		}
		fmt.Fprintf(w, "%-6s %-7s %6d %7.3f %7.2f", r.Mode, r.Step, r.Transitions, float64(r.Invocations)/n, rec)
		for _, k := range names {
			fmt.Fprintf(w, " %*.3f", len(k), float64(r.Calls[k])/n)
		}
		fmt.Fprintf(w, " %6.3f %6.3f %7.3f %s\n", r.WriteUnits/n, r.ReadUnits/n, float64(r.Results)/n, r.Elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "\nUSD per million step transitions, orchestration only (prices %s, %s; orchestrator %.0f MB arm64; latency model bench.RealAWS + 2 ms per invocation):\n",
		p.Checked, p.Region, orchestratorGB*1024)
	fmt.Fprintf(w, "%-6s %-7s %10s %10s %10s %10s %10s %10s %12s %12s\n", "mode", "step", "billed/tr", "requests", "GB-s", "SQS", "DynamoDB", "total", "1 rec/invoc", "GB-s alone")
	for _, r := range rows {
		c := r.Price(p)
		fmt.Fprintf(w, "%-6s %-7s %10s %10.3f %10.3f %10.3f %10.3f %10.3f %12.3f %12.3f\n", r.Mode, r.Step, c.Billed.Round(10*time.Microsecond),
			c.Requests, c.GBs, c.SQS, c.DynamoDB, c.Total(), c.TotalAlone(), c.GBsAlone)
	}
}
