package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// capacityCmd runs the capacity model (dynamojournal.Model) on a team's
// own peak: what it takes of DynamoDB partitions and quotas, Lambda
// concurrency and SQS, and the index shard count it needs.
func capacityCmd() *cobra.Command {
	w := dynamojournal.PeakDay(0)
	var runSteps, stepMs string
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Model a peak on AWS: partition load per index shard, the shard count it needs, the quotas to raise",
		Long: `capacity drives a synthetic peak through the journal's real key design and item
encoding (the functions the DynamoDB journal itself uses) and prints the write and
read units on the busiest partition of the table and of each index, and the Lambda,
DynamoDB and SQS quotas the peak needs against their defaults (docs/SCALING.md).

Without --shards it picks the smallest power of two that keeps every partition under
DynamoDB's limits (1,000 WCU/s, 3,000 RCU/s); set the stack's IndexShards parameter to
at least that. With --shards it models that count and exits with status 1 if a
partition would be over its limits.`,
		Example: `  ordo capacity                                   # 100,000 transitions/s, docs/SCALING.md's mix
  ordo capacity --rate 20000 --workflows 8 --hot-share 0.7 --run-steps 12
  ordo capacity --rate 50000 --shards 16          # does the live stack's count hold?`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if w.RunSteps, err = intList("--run-steps", runSteps); err != nil {
				return err
			}
			ms, err := intList("--step-ms", stepMs)
			if err != nil {
				return err
			}
			w.StepDurations = w.StepDurations[:0]
			for _, m := range ms {
				w.StepDurations = append(w.StepDurations, time.Duration(m)*time.Millisecond)
			}
			chosen := w.Shards > 0
			if !chosen {
				probe := w
				probe.Shards = 1
				n, err := dynamojournal.MinShards(probe)
				if err != nil {
					return err
				}
				if n == 0 {
					return fmt.Errorf("no shard count up to 1024 keeps every partition under its limits at this peak (see the table above with --shards 1024)")
				}
				w.Shards = n
			}
			c, err := dynamojournal.Model(w)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if _, err := c.WriteTo(out); err != nil {
				return err
			}
			switch {
			case !chosen:
				fmt.Fprintf(out, "index shards: %d is the smallest power of two that fits; set IndexShards to at least that (more gives headroom for bursts)\n", w.Shards)
			case c.Fits():
				fmt.Fprintf(out, "index shards: %d fits this peak\n", w.Shards)
			default:
				return fmt.Errorf("index shards: %d does not fit this peak (a partition is over its limits, above); run without --shards for the count that does", w.Shards)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&w.Transitions, "rate", w.Transitions, "step transitions per second at the peak, all workflows")
	f.IntVar(&w.Workflows, "workflows", w.Workflows, "workflows sharing the load; the busiest takes --hot-share, the rest Zipf (1/rank)")
	f.Float64Var(&w.HotShare, "hot-share", w.HotShare, "share of transitions of the busiest workflow, (0, 1]")
	f.StringVar(&runSteps, "run-steps", "5,200", "run lengths in steps, comma-separated: workflow i runs the (i mod n)th; the busiest runs the first")
	f.Float64Var(&w.Review, "review", w.Review, "share of runs that end in review, [0, 1]")
	f.IntVar(&w.Shards, "shards", 0, "index shard count to model (0: the smallest that fits)")
	f.DurationVar(&w.OrchestratorTime, "orchestrator-time", w.OrchestratorTime, "the orchestrator's own time per transition on AWS (a PutItem and an Invoke)")
	f.IntVar(&w.Batch, "batch", w.Batch, "records one orchestrator invocation drives at once (the event source's BatchSize)")
	f.Float64Var(&w.Listings, "listings", w.Listings, "index listings per second (review queue and console)")
	f.Float64Var(&w.ColdShare, "cold-share", w.ColdShare, "share of runs loaded cold (a new container)")
	f.StringVar(&stepMs, "step-ms", "1,100,1000", "step durations in ms for which Lambda concurrency is accounted, comma-separated")
	return cmd
}

// intList parses a comma-separated list of non-negative integers, naming
// the flag and the item that is not one.
func intList(flag, s string) ([]int, error) {
	var out []int
	for i, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s %q: item %d (%q) is not a whole number", flag, s, i+1, part)
		}
		out = append(out, n)
	}
	return out, nil
}
